"""PJL requests and replies as bytes (exporter/pjl/parse.py, codes.py): the reference's
examples, the variants makers send, and answers that must give None, never a wrong value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.model import Status
from exporter.pjl.codes import to_status
from exporter.pjl.parse import (
    MAX_PAGECOUNT,
    UEL,
    PjlStatus,
    Reply,
    build_request,
    echo_words,
    has_echo,
    parse_id,
    parse_pagecount,
    parse_reply,
    parse_status,
    read_info,
)

ECHO = echo_words(0xBEEF)
JAM_AND_LOW = ("low_toner", "jammed")


def lines(text: bytes) -> tuple[bytes, ...]:
    return tuple(text.split(b"\r\n"))


# --- the request -------------------------------------------------------------------------


def test_a_request_is_one_job_framed_by_uel() -> None:
    request = build_request(("ID", "PAGECOUNT"), ECHO)
    assert request == (
        UEL + b"@PJL\r\n@PJL ECHO PRINTER-EXPORTER 0000BEEF BEGIN\r\n"
        b"@PJL INFO ID\r\n@PJL INFO PAGECOUNT\r\n"
        b"@PJL ECHO PRINTER-EXPORTER 0000BEEF END\r\n" + UEL
    )


@pytest.mark.parametrize("category", ["CONFIG", "id", "ID\r\n@PJL RDYMSG", ""])
def test_only_the_three_categories_can_be_asked(category: str) -> None:
    with pytest.raises(ValueError, match="not an INFO category"):
        build_request((category,), ECHO)


def test_an_echo_not_made_by_echo_words_is_refused() -> None:
    with pytest.raises(ValueError, match="not an echo"):
        build_request(("ID",), "PRINTER-EXPORTER 1\r\n@PJL SET COPIES=99")


# --- one reply -----------------------------------------------------------------------------


def test_a_reply_keeps_its_command_and_lines() -> None:
    reply = parse_reply(b'@PJL INFO ID\r\n"LaserJet 4"\r\n')
    assert reply == Reply("INFO ID", (b'"LaserJet 4"', b""))


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00\x00@PJL INFO ID\r\nx",  # NUL padding
        b"\r\n@PJL INFO ID\r\nx",  # a blank line left from the previous reply
        UEL + b"@PJL INFO ID\r\nx",  # an echoed UEL
        b"@pjl  info   id \nx",  # case, spacing, LF only
    ],
)
def test_padding_and_spelling_do_not_hide_a_reply(raw: bytes) -> None:
    reply = parse_reply(raw)
    assert reply is not None
    assert reply.command == "INFO ID"


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\x00", b"garbage\r\n", b"\xff\xfe@PJL INFO ID\r\n", b"@PJL\r\n", b"@PJL \x01\r\n"],
)
def test_what_is_not_pjl_is_no_reply(raw: bytes) -> None:
    assert parse_reply(raw) is None


def test_our_echo_is_recognised_and_another_is_not() -> None:
    ours = parse_reply(f"@PJL ECHO {ECHO} END\r\n".encode())
    other = parse_reply(b"@PJL ECHO PRINTER-EXPORTER 00000001 END\r\n")
    assert ours is not None
    assert other is not None
    assert has_echo(ours, ECHO, "END")
    assert not has_echo(ours, ECHO, "BEGIN")
    assert not has_echo(other, ECHO, "END")


# --- INFO ID --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "model"),
    [
        (b'"LaserJet 4"\r\n', "LaserJet 4"),
        (b'"HP LaserJet M404dn"\r\n', "HP LaserJet M404dn"),
        (b"'Brother HL-L2350DW series'\r\n", "Brother HL-L2350DW series"),
        (b"Lexmark MS610dn\r\n", "Lexmark MS610dn"),  # unquoted
        (b'\r\n  "LaserJet 4"  \r\n', "LaserJet 4"),
        ('"Imprimante façade"\r\n'.encode(), "Imprimante façade"),  # UTF-8
        ('"Drucker Büro"\r\n'.encode("latin-1"), "Drucker Büro"),  # 8-bit
    ],
)
def test_info_id_gives_the_model(body: bytes, model: str) -> None:
    assert parse_id(lines(body)) == (model, None)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "empty reply"),
        (b'""\r\n', "empty model name"),
        (b'"LaserJet 4\r\n', "unbalanced quotes"),
        (b'"Laser\x07Jet"\r\n', "not printable text"),
        (b'"' + b"A" * 300 + b'"\r\n', "longer than 256 characters"),
    ],
)
def test_a_bad_info_id_gives_none_and_says_why(body: bytes, why: str) -> None:
    model, note = parse_id(lines(body))
    assert model is None
    assert note is not None
    assert why in note


# --- INFO STATUS ----------------------------------------------------------------------------


def test_info_status_as_in_the_reference() -> None:
    body = b'CODE=10001\r\nDISPLAY="00 READY"\r\nONLINE=TRUE\r\n'
    assert parse_status(lines(body)) == (PjlStatus(10001, "00 READY", True), None)


def test_info_status_with_single_quotes_spaces_and_more_codes() -> None:
    body = b"code = 40021\r\nDISPLAY='12 COVER OPEN '\r\nONLINE=false\r\nCODE2=10006\r\n"
    status, note = parse_status(lines(body))
    assert note is None
    assert status == PjlStatus(40021, "12 COVER OPEN", False, (10006,))


@pytest.mark.parametrize(
    ("body", "want", "why"),
    [
        (b"CODE=1000x\r\nONLINE=TRUE\r\n", PjlStatus(None, None, True), "five-digit"),
        (b"CODE=100010\r\nONLINE=TRUE\r\n", PjlStatus(None, None, True), "five-digit"),
        (b"CODE=10001\r\nONLINE=MAYBE\r\n", PjlStatus(10001, None, None), "TRUE or FALSE"),
        (b'CODE=10001\r\nDISPLAY="READY\r\n', PjlStatus(10001, None, None), "unbalanced"),
        (b"CODE=10001\r\nCODE=40021\r\n", None, "CODE given twice"),
    ],
)
def test_a_bad_status_field_is_dropped_with_a_note(
    body: bytes, want: PjlStatus | None, why: str
) -> None:
    status, note = parse_status(lines(body))
    assert status == want
    assert note is not None
    assert why in note


def test_a_status_with_nothing_known_is_none() -> None:
    status, note = parse_status(lines(b"HELLO\r\n\xff\xfe\r\n"))
    assert status is None
    assert note == "no CODE, DISPLAY or ONLINE"


# --- INFO PAGECOUNT -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "pages"),
    [
        (b"183933\r\n", 183933),
        (b"PAGECOUNT=183933\r\n", 183933),
        (b"pagecount = 42\r\n", 42),
        (b"\r\n 0 \r\n", 0),
    ],
)
def test_info_pagecount_in_both_forms(body: bytes, pages: int) -> None:
    assert parse_pagecount(lines(body)) == (pages, None)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"?\r\n",
        b"-5\r\n",
        b"12,345\r\n",
        b"1.5e6\r\n",
        b"0x1F\r\n",
        b"183933 pages\r\n",
        b"COUNT=183933\r\n",
        b"183933\r\n183934\r\n",
        b"99999999999999999999\r\n",  # 20 digits
        str(MAX_PAGECOUNT + 1).encode() + b"\r\n",
        b"\xd9\xa3\xd9\xa4\r\n",  # Arabic-Indic digits: not a PJL number
    ],
)
def test_anything_but_one_number_is_no_page_count(body: bytes) -> None:
    pages, note = parse_pagecount(lines(body))
    assert pages is None
    assert note


@given(st.binary(max_size=200))
def test_no_bytes_crash_the_parsers_or_make_a_number_from_non_digits(body: bytes) -> None:
    pages, _ = parse_pagecount(lines(body))
    parse_id(lines(body))
    parse_status(lines(body))
    parse_reply(body)
    if pages is not None:
        digits = bytes(b for b in body if 0x30 <= b <= 0x39)
        assert str(pages).encode() in digits or pages == 0


# --- a whole exchange's replies ----------------------------------------------------------------


def _replies(*raws: bytes) -> list[Reply]:
    return [r for raw in raws if (r := parse_reply(raw)) is not None]


def test_each_field_comes_only_from_the_reply_to_its_own_command() -> None:
    replies = _replies(
        b'@PJL INFO ID\r\n"LaserJet 4"\r\n',
        b"@PJL INFO CONFIG\r\n777\r\n",  # a number, but not a page count
        b"@PJL USTATUS DEVICE\r\nCODE=40021\r\n",  # unsolicited, not INFO STATUS
        f"@PJL ECHO {ECHO} END\r\n".encode(),
    )
    info = read_info(replies, ("ID", "STATUS", "PAGECOUNT"))
    assert info.model == "LaserJet 4"
    assert info.pagecount is None
    assert info.status is None
    assert "INFO PAGECOUNT: no reply" in info.notes
    assert "INFO STATUS: no reply" in info.notes
    assert "ignored a reply to another command: 'INFO CONFIG'" in info.notes


def test_a_category_answered_twice_differently_is_not_used() -> None:
    replies = _replies(b"@PJL INFO PAGECOUNT\r\n1000\r\n", b"@PJL INFO PAGECOUNT\r\n2000\r\n")
    info = read_info(replies, ("PAGECOUNT",))
    assert info.pagecount is None
    assert info.notes == ("INFO PAGECOUNT: 2 different replies; none used",)


def test_a_category_answered_twice_the_same_is_used() -> None:
    replies = _replies(b"@PJL INFO PAGECOUNT\r\n1000\r\n", b"@PJL INFO PAGECOUNT\r\n1000\r\n")
    assert read_info(replies, ("PAGECOUNT",)).pagecount == 1000


def test_a_category_not_asked_is_ignored() -> None:
    replies = _replies(b"@PJL INFO PAGECOUNT\r\n1000\r\n")
    info = read_info(replies, ("ID",))
    assert info.pagecount is None
    assert info.notes == (
        "ignored a reply to another command: 'INFO PAGECOUNT'",
        "INFO ID: no reply",
    )


def test_many_foreign_replies_make_a_bounded_number_of_notes() -> None:
    replies = _replies(*(b"@PJL USTATUS DEVICE\r\nCODE=10001\r\n" for _ in range(500)))
    notes = read_info(replies, ("ID",)).notes
    assert len(notes) == 5
    assert notes[-2:] == ("ignored 497 more replies to other commands", "INFO ID: no reply")


# --- status codes in the snapshot's words ------------------------------------------------


@pytest.mark.parametrize(
    ("pjl", "want"),
    [
        (PjlStatus(10001, "00 READY", True), Status("running", "idle", (), ("00 READY",))),
        (PjlStatus(10023, "BUSY", True), Status("running", "printing", (), ("BUSY",))),
        (PjlStatus(10003, None, True), Status("running", "warmup")),
        (PjlStatus(10004, None, True), Status("testing", "unknown")),
        (PjlStatus(10006, None, True), Status("warning", "idle", ("low_toner",))),
        (PjlStatus(40021, None, False), Status("down", "other", ("door_open", "offline"))),
        (PjlStatus(41204, None, False), Status("down", "other", ("no_paper", "offline"))),
        (PjlStatus(42103, None, None), Status("down", "other", ("jammed",))),
        (PjlStatus(10002, None, False), Status("down", "idle", ("offline",))),
        (PjlStatus(35078, None, True), Status("warning", "unknown")),
        (PjlStatus(20002, None, True), Status("unknown", "unknown")),  # a parser error: ours
        (PjlStatus(99999, None, None), Status("unknown", "unknown")),
        (PjlStatus(None, "READY", None), Status("unknown", "unknown", (), ("READY",))),
        (PjlStatus(10001, None, True, (40022, 10006)), Status("down", "idle", JAM_AND_LOW)),
        (PjlStatus(10001, None, True, (10006,)), Status("warning", "idle", ("low_toner",))),
    ],
)
def test_status_codes_follow_appendix_d_and_rfc_3805(pjl: PjlStatus, want: Status) -> None:
    assert to_status(pjl) == want
