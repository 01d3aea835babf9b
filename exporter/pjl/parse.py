"""PJL requests and replies as bytes: what the client sends and what it makes of the answer.

No I/O here, so every hostile answer can be tested as plain bytes. The formats
follow HP's Printer Job Language Technical Reference Manual (chapter 7, "Status
Readback Commands"; appendix D, "PJL Status Codes"):

- A job starts and ends with the Universal Exit Language, `ESC %-12345X`, and
  its first line is `@PJL`. Commands end in `[CR]LF`.
- `@PJL INFO <category>` is answered by `@PJL INFO <category>` CRLF, one or more
  lines, and a form feed (0x0C). `@PJL ECHO <words>` is answered by
  `@PJL ECHO <words>` CRLF and a form feed.
- INFO ID: the model in double quotes, `"LaserJet 4"`.
- INFO STATUS: `CODE=10001`, `DISPLAY="00 READY"`, `ONLINE=TRUE`, one per line.
  Some makers quote DISPLAY with single quotes; some add `CODE2=`, `DISPLAY2=`.
- INFO PAGECOUNT: the engine's page count, as a bare number or as `PAGECOUNT=n`.

Trust: a reply counts only for the command its own header names. A page
count is never taken from a reply that does not say `@PJL INFO PAGECOUNT`, so
a misdirected answer cannot become a meter read. The INFO commands are
bracketed by two ECHOs with a fresh token (BEGIN and END), so on a device that
echoes, a reply sent before our BEGIN (stale) is dropped, and END marks the
end without waiting for a deadline. A field that does not parse is None, with
a note that says what was seen.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

UEL: Final = b"\x1b%-12345X"
"""Universal Exit Language: ends whatever language the port was in and starts a PJL job."""
FORM_FEED: Final = 0x0C
"""The byte that ends every PJL reply."""
CATEGORIES: Final = ("ID", "STATUS", "PAGECOUNT")
"""The INFO categories this client asks for, in the order it asks."""
MAX_TEXT_CHARS: Final = 256
"""A model or panel text longer than this is not one a printer shows: refused, not cut."""
MAX_PAGECOUNT: Final = 2**63 - 1
"""The largest meter the snapshot contract (and the archive's int64) can carry."""
ECHO_PREFIX: Final = "PRINTER-EXPORTER"
BEGIN: Final = "BEGIN"
END: Final = "END"
_MAX_IGNORED_NOTES = 3

_HEADER = re.compile(rb"@PJL[ \t]+([\x20-\x7e]{1,200})\Z", re.IGNORECASE)
_FIELD = re.compile(rb"\s*([A-Za-z]+)(\d*)\s*=\s*(.*?)\s*\Z")
_PAGECOUNT = re.compile(rb"(?:PAGECOUNT\s*=\s*)?(\d{1,19})\Z", re.IGNORECASE)
_STATUS_CODE = re.compile(rb"\d{5}\Z")
_TOKEN = re.compile(r"[0-9A-F]{1,16}\Z")


@dataclass(frozen=True, slots=True)
class PjlStatus:
    """INFO STATUS as sent: the status code (appendix D), the panel text and the online flag."""

    code: int | None
    display: str | None
    online: bool | None
    more_codes: tuple[int, ...] = ()
    """`CODE2=`, `CODE3=`, ... where a device reports more than one condition."""


@dataclass(frozen=True, slots=True)
class PjlInfo:
    """What one exchange gave. A field is None when it was not asked, not answered, or bad;
    `notes` says which and why, one line each."""

    model: str | None = None
    status: PjlStatus | None = None
    pagecount: int | None = None
    notes: tuple[str, ...] = ()
    bytes_sent: int = 0
    bytes_received: int = 0


@dataclass(frozen=True, slots=True)
class Reply:
    """One form-feed-terminated reply: its header without `@PJL` (upper case, single spaces)
    and its body lines without line ends."""

    command: str
    lines: tuple[bytes, ...]


def echo_words(token: int) -> str:
    """The ECHO words that mark the end of our own exchange (`token` is per exchange)."""
    return f"{ECHO_PREFIX} {token & 0xFFFFFFFF:08X}"


def build_request(categories: Sequence[str], echo: str) -> bytes:
    """One PJL job asking `categories` between `ECHO <echo> BEGIN` and `ECHO <echo> END`.

    The job is framed by UEL on both sides, so a device that was in another
    language leaves it before our commands and returns to its default after.
    """
    for category in categories:
        if category not in CATEGORIES:
            raise ValueError(f"not an INFO category this client reads: {category!r}")
    _, _, token = echo.rpartition(" ")
    if not echo.startswith(ECHO_PREFIX + " ") or not _TOKEN.match(token):
        raise ValueError(f"not an echo made by echo_words: {echo!r}")
    lines = [
        "@PJL",
        f"@PJL ECHO {echo} {BEGIN}",
        *(f"@PJL INFO {c}" for c in categories),
        f"@PJL ECHO {echo} {END}",
    ]
    return UEL + "".join(f"{line}\r\n" for line in lines).encode("ascii") + UEL


def parse_reply(raw: bytes) -> Reply | None:
    """One reply's bytes (without its form feed) -> Reply, or None when it is not PJL.

    NULs, blank lines and a UEL before the header are skipped: devices pad
    replies with them.
    """
    text = raw.replace(UEL, b"").lstrip(b"\x00\r\n\t ")
    lines = [line.rstrip(b"\r") for line in text.split(b"\n")]
    match = _HEADER.match(lines[0].rstrip(b" \t")) if lines else None
    if match is None:
        return None
    command = " ".join(match.group(1).decode("ascii").upper().split())
    return Reply(command, tuple(lines[1:]))


def read_info(replies: Iterable[Reply], categories: Sequence[str]) -> PjlInfo:
    """The fields of the INFO replies among `replies`; replies to anything else are ignored.

    A category answered twice with different bodies is None: which one is
    current cannot be known, and a guess could be a wrong meter.
    """
    bodies: dict[str, list[tuple[bytes, ...]]] = {c: [] for c in categories}
    ignored: list[str] = []
    for reply in replies:
        category = reply.command.removeprefix("INFO ")
        if reply.command.startswith("INFO ") and category in bodies:
            bodies[category].append(reply.lines)
        elif not reply.command.startswith(f"ECHO {ECHO_PREFIX} "):
            ignored.append(reply.command)
    notes: list[str] = [
        f"ignored a reply to another command: {command[:60]!r}"
        for command in ignored[:_MAX_IGNORED_NOTES]
    ]
    if len(ignored) > _MAX_IGNORED_NOTES:
        notes.append(f"ignored {len(ignored) - _MAX_IGNORED_NOTES} more replies to other commands")
    fields: dict[str, object] = {}
    for category, found in bodies.items():
        if not found:
            notes.append(f"INFO {category}: no reply")
        elif len(set(found)) > 1:
            notes.append(f"INFO {category}: {len(found)} different replies; none used")
        else:
            value, note = _PARSERS[category](found[0])
            fields[category] = value
            if note:
                notes.append(f"INFO {category}: {note}")
    status = fields.get("STATUS")
    pagecount = fields.get("PAGECOUNT")
    model = fields.get("ID")
    return PjlInfo(
        model=model if isinstance(model, str) else None,
        status=status if isinstance(status, PjlStatus) else None,
        pagecount=pagecount if isinstance(pagecount, int) else None,
        notes=tuple(notes),
    )


def has_echo(reply: Reply, echo: str, mark: str) -> bool:
    """Whether `reply` answers our own ECHO `mark` (BEGIN or END) of this exchange."""
    return reply.command == f"ECHO {echo} {mark}"


# --- the three categories ---------------------------------------------------------------------


def parse_id(lines: Sequence[bytes]) -> tuple[str | None, str | None]:
    """INFO ID's body -> (model, note). The model is the first non-empty line, its quotes
    removed; a line that is not printable text gives None."""
    content = _content(lines)
    if not content:
        return None, "empty reply"
    text, problem = _text(content[0])
    if text is None:
        return None, problem
    model = _unquote(text)
    if model is None:
        return None, f"unbalanced quotes: {_show(content[0])}"
    if not model:
        return None, "empty model name"
    return model, None


def parse_status(lines: Sequence[bytes]) -> tuple[PjlStatus | None, str | None]:
    """INFO STATUS's body -> (status, note). A key given twice with different values is
    dropped, as is a CODE that is not five digits (appendix D codes all are)."""
    seen: dict[tuple[str, str], bytes] = {}
    clashes: set[tuple[str, str]] = set()
    for line in _content(lines):
        match = _FIELD.match(line)
        if match is None:
            continue
        key = (match.group(1).decode("ascii").upper(), match.group(2).decode("ascii"))
        if key in seen and seen[key] != match.group(3):
            clashes.add(key)
        seen.setdefault(key, match.group(3))
    problems: list[str] = [f"{name}{n} given twice; dropped" for name, n in sorted(clashes)]
    values = {key: value for key, value in seen.items() if key not in clashes}

    code = _status_code(values.get(("CODE", "")), problems)
    more = tuple(
        c
        for (name, n), raw in sorted(values.items(), key=lambda kv: kv[0])
        if name == "CODE" and n and (c := _status_code(raw, problems)) is not None
    )
    display = None
    if ("DISPLAY", "") in values:
        display, problem = _display(values[("DISPLAY", "")])
        if problem:
            problems.append(f"DISPLAY {problem}")
    online = _online(values.get(("ONLINE", "")), problems)
    note = "; ".join(problems) or None
    if code is None and display is None and online is None and not more:
        return None, note or "no CODE, DISPLAY or ONLINE"
    return PjlStatus(code, display, online, more), note


def parse_pagecount(lines: Sequence[bytes]) -> tuple[int | None, str | None]:
    """INFO PAGECOUNT's body -> (pages, note): one line, a number or `PAGECOUNT=number`."""
    content = _content(lines)
    if len(content) != 1:
        shown = _show(b" | ".join(content)) if content else "an empty reply"
        return None, f"want one line with a number. Got: {shown}"
    match = _PAGECOUNT.match(content[0].strip(b" \t"))
    if match is None:
        return None, f"not a page count: {_show(content[0])}"
    value = int(match.group(1))
    if value > MAX_PAGECOUNT:
        return None, f"page count {value} is larger than any meter can be"
    return value, None


_PARSERS = {"ID": parse_id, "STATUS": parse_status, "PAGECOUNT": parse_pagecount}


# --- helpers ------------------------------------------------------------------------------


def _content(lines: Sequence[bytes]) -> list[bytes]:
    return [line.strip(b" \t\x00") for line in lines if line.strip(b" \t\x00")]


def _text(raw: bytes) -> tuple[str | None, str | None]:
    """Printable text from a reply line: UTF-8, else Latin-1 (PJL is an 8-bit protocol)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    text = text.strip()
    if any(unicodedata.category(char) in ("Cc", "Cs", "Co", "Cn") for char in text):
        return None, f"not printable text: {_show(raw)}"
    if len(text) > MAX_TEXT_CHARS:
        return None, f"longer than {MAX_TEXT_CHARS} characters"
    return text, None


def _unquote(text: str) -> str | None:
    """`"x"` or `'x'` -> `x`; unquoted text as it is; None for a quote that is not closed."""
    if text[:1] in ("'", '"'):
        if len(text) < 2 or text[-1] != text[0]:
            return None
        return text[1:-1].strip()
    return text


def _status_code(raw: bytes | None, problems: list[str]) -> int | None:
    if raw is None:
        return None
    if not _STATUS_CODE.match(raw):
        problems.append(f"CODE is not a five-digit status code: {_show(raw)}")
        return None
    return int(raw)


def _display(raw: bytes) -> tuple[str | None, str | None]:
    text, problem = _text(raw)
    if text is None:
        return None, problem
    inner = _unquote(text)
    if inner is None:
        return None, f"has unbalanced quotes: {_show(raw)}"
    return inner or None, None


def _online(raw: bytes | None, problems: list[str]) -> bool | None:
    if raw is None:
        return None
    word = raw.upper()
    if word in (b"TRUE", b"FALSE"):
        return word == b"TRUE"
    problems.append(f"ONLINE is not TRUE or FALSE: {_show(raw)}")
    return None


def _show(raw: bytes, limit: int = 40) -> str:
    """A short, log-safe view of bytes a device sent: escaped, and cut at `limit`."""
    text = repr(raw[:limit])
    return text + ("..." if len(raw) > limit else "")
