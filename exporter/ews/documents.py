"""EWS pages as documents a profile can select values from: XML, HTML, JSON and CSV.

Pure: bytes in, text out. Each format has one selector language, the one a
well-kept parser already speaks, so no page is ever searched with a regex:

- `xml`: an ElementTree path (`PrinterSubunit/TotalImpressions`,
  `PrinterSubunit/UsageByMedia[MediaSizeName='iso_a4_210x297mm']/TotalImpressions`),
  relative to the root element, on local names (namespace prefixes are dropped,
  so `dd:TotalImpressions` is `TotalImpressions`). Parsed by defusedxml with
  DTDs refused: an entity declaration (a billion-laughs bomb, an external
  entity) fails the page instead of expanding.
- `html`: the same paths over a tree built by the stdlib `html.parser`, which
  never gives up on broken markup; or a `label`: the text of the element right
  after the first element whose text is the label (`<dt>Page Counter</dt><dd>..`,
  `<th>Serial</th><td>..`), the shape of most EWS status tables.
- `json`: a dotted path of keys and list indexes (`identity.serial_num`, `trays.0.level`).
- `csv`: a column name; the value is that column in the first row after the header
  (Brother's `/etc/mnt_info.csv`).

A value is text with runs of white space collapsed; None when the selector
finds nothing. Parse failures raise `EwsParseError`; bounds on size and depth
keep a hostile page from costing more than its parse.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from html.parser import HTMLParser
from typing import Any, Final, Literal, Protocol

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from exporter.ews.errors import EwsParseError

Format = Literal["xml", "html", "json", "csv"]
FORMATS: Final[tuple[Format, ...]] = ("xml", "html", "json", "csv")

MAX_ELEMENTS: Final = 200_000
"""HTML elements kept per page: a real EWS page has a few thousand."""
MAX_DEPTH: Final = 256
_VOID: Final = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param"}
    | {"source", "track", "wbr"}
)
_SIBLING_GROUPS: Final = (
    frozenset({"dt", "dd"}),
    frozenset({"li"}),
    frozenset({"p"}),
    frozenset({"td", "th"}),
    frozenset({"tr"}),
    frozenset({"option"}),
)
"""Elements HTML lets a page leave open: a new one closes the open one of its group."""


class Document(Protocol):
    def select(self, selector: str) -> str | None: ...

    def label(self, label: str) -> str | None: ...

    def each(self, selector: str) -> Sequence[Document]: ...


def parse(fmt: Format, body: bytes, charset: str | None = None) -> Document:
    """`body` as a document of `fmt`; EwsParseError when it is not one."""
    if fmt == "xml":
        return XmlDocument(_parse_xml(body))
    text = _decode(body, charset)
    if fmt == "html":
        return XmlDocument(_parse_html(text))
    if fmt == "json":
        return JsonDocument(_parse_json(text))
    return CsvDocument(_parse_csv(text))


def text_of(element: ET.Element) -> str | None:
    text = " ".join("".join(element.itertext()).split())
    return text or None


# --- XML and HTML -----------------------------------------------------------------------


class XmlDocument:
    """An element tree (XML, or HTML made into one) and the paths over it."""

    def __init__(self, root: ET.Element) -> None:
        self.root = root

    def select(self, selector: str) -> str | None:
        found = self.root.find(selector)
        return None if found is None else text_of(found)

    def label(self, label: str) -> str | None:
        """The first value element after the label that holds no elements of its own (a
        `<dd>`, a `<td>`); failing that, the first after the label whatever it holds. So a
        heading that repeats a label (`<h3>Page Counter</h3><dl>...`) is not the value."""
        wanted = _label_key(label)
        fallback: str | None = None
        for parent in self.root.iter():
            for child, after in itertools.pairwise(list(parent)):
                if _label_key(text_of(child) or "") != wanted:
                    continue
                if len(after) == 0:
                    return text_of(after)
                if fallback is None:
                    fallback = text_of(after)
        return fallback

    def each(self, selector: str) -> Sequence[Document]:
        return [XmlDocument(element) for element in self.root.findall(selector)]


def _label_key(text: str) -> str:
    """How labels compare: case and spacing ignored, a trailing ':' or '*' too."""
    return " ".join(text.split()).rstrip(":* ").casefold()


def _parse_xml(body: bytes) -> ET.Element:
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise EwsParseError(f"XML with a DTD or entity declaration refused ({exc})") from None
    except ET.ParseError as exc:
        raise EwsParseError(f"not well-formed XML ({exc})") from None
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = element.tag.rpartition("}")[2]
    return root


class _TreeBuilder(HTMLParser):
    """HTML into an ElementTree, forgiving as browsers are: void elements never open,
    an end tag closes up to its open element (a stray one is ignored), and a new
    `<dd>`, `<li>`, `<td>`... closes the open one of its group."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = ET.Element("html-document")
        self.stack = [self.root]
        self.count = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.count += 1
        if self.count > MAX_ELEMENTS:
            raise EwsParseError(f"more than {MAX_ELEMENTS:,} HTML elements")
        for group in _SIBLING_GROUPS:
            if tag in group and self.stack[-1].tag in group:
                self.stack.pop()
        element = ET.SubElement(self.stack[-1], tag, {k: v or "" for k, v in attrs})
        if tag not in _VOID:
            if len(self.stack) > MAX_DEPTH:
                raise EwsParseError(f"HTML nested deeper than {MAX_DEPTH} elements")
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID and self.stack[-1].tag == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        parent = self.stack[-1]
        children = list(parent)
        if children:
            children[-1].tail = (children[-1].tail or "") + data
        else:
            parent.text = (parent.text or "") + data


def _parse_html(text: str) -> ET.Element:
    builder = _TreeBuilder()
    try:
        builder.feed(text)
        builder.close()
    except (AssertionError, ValueError) as exc:  # html.parser's own complaints
        raise EwsParseError(f"unreadable HTML ({exc})") from None
    return builder.root


# --- JSON and CSV -----------------------------------------------------------------------


class JsonDocument:
    def __init__(self, value: Any) -> None:
        self.value = value

    def _walk(self, selector: str) -> Any:
        node = self.value
        for key in selector.split("."):
            if isinstance(node, dict):
                node = node.get(key)
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                return None
        return node

    def select(self, selector: str) -> str | None:
        node = self._walk(selector)
        if node is None or isinstance(node, dict | list | bool):
            return None
        text = " ".join(str(node).split())
        return text or None

    def label(self, label: str) -> str | None:
        return None

    def each(self, selector: str) -> Sequence[Document]:
        node = self._walk(selector)
        return [JsonDocument(item) for item in node] if isinstance(node, list) else []


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise EwsParseError(f"not JSON ({str(exc)[:80]})") from None


class CsvDocument:
    """A header row and the rows after it; a column is found by its header text."""

    def __init__(self, rows: list[list[str]]) -> None:
        self.header = [_label_key(cell) for cell in rows[0]] if rows else []
        self.rows = rows[1:]

    def select(self, selector: str) -> str | None:
        key = _label_key(selector)
        if key not in self.header or not self.rows:
            return None
        column = self.header.index(key)
        row = self.rows[0]
        if column >= len(row):
            return None
        return " ".join(row[column].split()) or None

    def label(self, label: str) -> str | None:
        return self.select(label)

    def each(self, selector: str) -> Sequence[Document]:
        return []


def _parse_csv(text: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise EwsParseError(f"not CSV ({exc})") from None


def _decode(body: bytes, charset: str | None) -> str:
    """Text in the charset the server named when Python knows it, else UTF-8; bytes that
    do not decode become U+FFFD rather than costing the page."""
    encoding = "utf-8"
    if charset:
        with contextlib.suppress(LookupError):
            encoding = codecs.lookup(charset).name
    return body.decode(encoding, errors="replace")
