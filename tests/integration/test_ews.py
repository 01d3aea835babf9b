"""The EWS reader against a web server on loopback (tests/ews_server.py), well-behaved and
hostile, and EWS as the poller's fallback: only where the config enables it, only for gaps.

Nothing here measures time: deadlines live in the client, and each test checks what came
out. A hostile device gets a short deadline so the suite stays quick.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest

from exporter.config import Config, EwsSettings, HttpCredentials, PollConfig, TlsPin, parse_config
from exporter.ews import (
    EwsAuthError,
    EwsClient,
    EwsClosed,
    EwsConnectError,
    EwsHttpError,
    EwsPinMismatch,
    EwsRedirectError,
    EwsTimeout,
    EwsTlsError,
    EwsTooLarge,
)
from exporter.metrics import ExporterState, render
from exporter.model import ValueSource
from exporter.poller import Poller, PollTarget
from exporter.secret import Secret
from exporter.snmp import (
    community,
)
from exporter.store import DeviceEntry, SnapshotStore
from tests.ews_server import Reply, basic_auth, digest_auth, gzip_bomb, page, serving
from tests.oracle import FIXTURES
from tests.recorded_snmp import RecordedSnmp

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"
SHORT = 1.0
"""The deadline for devices that never finish: the outcome is what is tested."""
HP_PAGES = {
    "/DevMgmt/ProductUsageDyn.xml": page("hp/ProductUsageDyn.xml"),
    "/DevMgmt/ConsumableConfigDyn.xml": page("hp/ConsumableConfigDyn.xml"),
    "/DevMgmt/ProductConfigDyn.xml": page("hp/ProductConfigDyn.xml"),
}


def settings(port: int, scheme: str = "http", **changes: Any) -> EwsSettings:
    base: dict[str, Any] = {
        "scheme": scheme,
        "port": port,
        "timeout": 10.0,
        "max_page_bytes": 2 * 1024 * 1024,
        "max_redirects": 3,
        "https_upgrade": False,
    }
    return EwsSettings(**{**base, **changes})


# --- the client: good pages --------------------------------------------------------------


async def test_pages_are_read_over_one_connection() -> None:
    async with serving(HP_PAGES) as server:
        fetched = await EwsClient().fetch(HOST, settings(server.port), list(HP_PAGES))
    assert set(fetched.pages) == set(HP_PAGES)
    assert fetched.errors == {}
    assert fetched.pages["/DevMgmt/ProductConfigDyn.xml"].body == (
        HP_PAGES["/DevMgmt/ProductConfigDyn.xml"].body
    )
    assert server.connections == 1
    assert server.most_open == 1
    assert fetched.traffic.requests == 3 == len(server.requests)
    assert fetched.traffic.bytes_sent > 0
    assert fetched.traffic.bytes_received > 3000


async def test_a_gzip_page_is_decoded() -> None:
    routes = {"/p.xml": page("hp/ProductUsageDyn.xml", compress=True)}
    async with serving(routes) as server:
        fetched = await EwsClient().fetch(HOST, settings(server.port), ["/p.xml"])
    assert fetched.pages["/p.xml"].body == (FIXTURES / "ews/hp/ProductUsageDyn.xml").read_bytes()


async def test_a_redirect_on_the_same_host_and_port_is_followed() -> None:
    routes = {
        "/old": Reply(302, headers={"Location": "/DevMgmt/ProductConfigDyn.xml"}),
        **HP_PAGES,
    }
    async with serving(routes) as server:
        fetched = await EwsClient().fetch(HOST, settings(server.port), ["/old"])
    assert b"TESTSN0042" in fetched.pages["/old"].body


async def test_basic_and_digest_credentials_are_answered() -> None:
    secret = HP_PAGES["/DevMgmt/ProductConfigDyn.xml"]
    assert isinstance(secret, Reply)
    for auth, handler in (("basic", basic_auth), ("digest", digest_auth)):
        routes = {"/cfg": handler("admin", "pa55word", secret)}
        creds = HttpCredentials("admin", "admin", Secret("pa55word"), auth)  # type: ignore[arg-type]
        async with serving(routes) as server:
            fetched = await EwsClient().fetch(
                HOST, settings(server.port, credentials=creds), ["/cfg"]
            )
        assert fetched.errors == {}, auth
        assert b"TESTSN0042" in fetched.pages["/cfg"].body


# --- the client: bad input, each costing only its page -----------------------------------


async def test_an_unreachable_port_is_a_connect_error_for_every_page() -> None:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]  # bound, never listening: refused
        fetched = await EwsClient().fetch(HOST, settings(port), ["/a", "/b"])
    assert isinstance(fetched.errors["/a"], EwsConnectError)
    assert isinstance(fetched.errors["/b"], EwsConnectError)  # not tried: same fate
    assert fetched.traffic.requests == 1


@pytest.mark.parametrize(
    ("reply", "error", "text"),
    [
        (Reply(behaviour="reset"), EwsClosed, "connection broke"),
        (Reply(200, b"<x>" * 40, behaviour="close_early"), EwsClosed, "connection broke"),
        (Reply(behaviour="huge"), EwsTooLarge, "larger than 2,097,152 bytes"),
        (
            Reply(200, gzip_bomb(), {"Content-Encoding": "gzip"}),
            EwsTooLarge,
            "larger than",
        ),
        (Reply(200, b"x", {"Content-Encoding": "br"}), EwsHttpError, "'br' is not read"),
        (Reply(200, b"not gzip", {"Content-Encoding": "gzip"}), EwsHttpError, "broken"),
        (Reply(500, b"oops"), EwsHttpError, "HTTP 500"),
        (Reply(401, b"login"), EwsAuthError, "HTTP 401"),
        (
            Reply(302, headers={"Location": "http://192.0.2.1/steal"}),
            EwsRedirectError,
            "another host refused",
        ),
        (
            Reply(302, headers={"Location": "https://127.0.0.1/"}),
            EwsRedirectError,
            "another scheme or port refused",
        ),
        (Reply(302, headers={"Location": "/bad"}), EwsRedirectError, "more than 3 redirects"),
    ],
)
async def test_a_bad_page_costs_only_itself(
    reply: Reply, error: type[Exception], text: str
) -> None:
    routes = {"/bad": reply, "/good": HP_PAGES["/DevMgmt/ProductConfigDyn.xml"]}
    async with serving(routes) as server:
        fetched = await EwsClient().fetch(HOST, settings(server.port), ["/bad", "/good"])
    assert isinstance(fetched.errors["/bad"], error), fetched.errors
    assert text in str(fetched.errors["/bad"])
    assert "/good" in fetched.pages  # the next page is still read
    assert all(r.target in ("/bad", "/good") for r in server.requests)  # never off-host


async def test_a_gzip_bomb_is_never_expanded_past_the_limit() -> None:
    bomb = gzip_bomb()
    routes = {"/bomb": Reply(200, bomb, {"Content-Encoding": "gzip"})}
    async with serving(routes) as server:
        fetched = await EwsClient().fetch(
            HOST, settings(server.port, max_page_bytes=64 * 1024), ["/bomb"]
        )
    assert isinstance(fetched.errors["/bomb"], EwsTooLarge)
    assert len(bomb) < 64 * 1024  # small on the wire: only the decoded count catches it


async def test_a_slow_drip_ends_at_the_device_deadline() -> None:
    routes = {"/drip": Reply(behaviour="drip"), "/next": Reply(200, b"x")}
    async with serving(routes) as server:
        fetched = await EwsClient().fetch(
            HOST, settings(server.port, timeout=SHORT), ["/drip", "/next"]
        )
    assert isinstance(fetched.errors["/drip"], EwsTimeout)
    assert isinstance(fetched.errors["/next"], EwsTimeout)  # the deadline is the device's
    assert "1s deadline" in str(fetched.errors["/next"])


async def test_a_wrong_password_is_an_auth_error() -> None:
    routes = {"/cfg": digest_auth("admin", "right", Reply(200, b"ok"))}
    creds = HttpCredentials("admin", "admin", Secret("wrong-one"), "digest")
    async with serving(routes) as server:
        fetched = await EwsClient().fetch(HOST, settings(server.port, credentials=creds), ["/cfg"])
    assert isinstance(fetched.errors["/cfg"], EwsAuthError)
    assert "wrong-one" not in str(fetched.errors["/cfg"])


async def test_one_connection_at_a_time_per_device() -> None:
    import asyncio

    client = EwsClient()
    async with serving(HP_PAGES) as server:
        s = settings(server.port)
        await asyncio.gather(*(client.fetch(HOST, s, list(HP_PAGES)) for _ in range(4)))
    assert server.most_open == 1
    assert server.connections == 4


# --- TLS: verified, or pinned per target ---------------------------------------------------


@pytest.fixture(scope="module")
def tls() -> tuple[ssl.SSLContext, Path, bytes]:
    """A server context with a trustme certificate for 127.0.0.1, the CA file, and the
    certificate's DER (for pins)."""
    trustme = pytest.importorskip("trustme")
    import tempfile

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    folder = Path(tempfile.mkdtemp())
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    der = ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
    return context, ca_file, der


async def test_https_with_the_sites_ca_is_verified(tls: Any) -> None:
    context, ca_file, _ = tls
    async with serving(HP_PAGES, context) as server:
        fetched = await EwsClient().fetch(
            HOST, settings(server.port, "https", ca_file=ca_file), list(HP_PAGES)[:1]
        )
    assert fetched.errors == {}


async def test_an_untrusted_certificate_is_refused_and_nothing_sent(tls: Any) -> None:
    context, _, _ = tls
    async with serving(HP_PAGES, context) as server:
        fetched = await EwsClient().fetch(HOST, settings(server.port, "https"), list(HP_PAGES))
    assert isinstance(fetched.errors["/DevMgmt/ProductUsageDyn.xml"], EwsTlsError)
    assert "certificate verify failed" in str(fetched.errors["/DevMgmt/ProductUsageDyn.xml"])
    assert server.requests == []


async def test_a_pinned_self_signed_certificate_is_trusted_for_that_device(tls: Any) -> None:
    context, _, der = tls
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    spki = (
        x509.load_der_x509_certificate(der)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    pins = [
        TlsPin("certificate", hashlib.sha256(der).digest()),
        TlsPin("spki", hashlib.sha256(spki).digest()),
    ]
    for pin in pins:
        async with serving(HP_PAGES, context) as server:
            fetched = await EwsClient().fetch(
                HOST, settings(server.port, "https", tls_fingerprint=pin), list(HP_PAGES)[:1]
            )
        assert fetched.errors == {}, pin


async def test_a_wrong_pin_refuses_the_device_before_any_request(tls: Any) -> None:
    context, _, _ = tls
    creds = HttpCredentials("admin", "admin", Secret("pa55word"), "basic")
    wrong = TlsPin("certificate", bytes(32))
    async with serving(HP_PAGES, context) as server:
        fetched = await EwsClient().fetch(
            HOST,
            settings(server.port, "https", tls_fingerprint=wrong, credentials=creds),
            list(HP_PAGES),
        )
    errors = list(fetched.errors.values())
    assert isinstance(errors[0], EwsPinMismatch)
    assert "nothing was sent" in str(errors[0])
    assert server.requests == []  # the basic-auth password never left


# --- the poller: EWS only where enabled, only for gaps ----------------------------------------


def _config(port: int, ews: str = "{scheme: http, port: PORT}") -> Config:
    return parse_config(
        f"targets: [{{address: '{HOST}:1161', ews: {ews.replace('PORT', str(port))}}}]\n"
    )


async def _poll(config: Config, snmp: RecordedSnmp) -> DeviceEntry:
    poller = Poller(SnapshotStore(), PollConfig(), connect_fn=snmp)
    poller.ews_rule = config.ews_allowed
    target = PollTarget(HOST, 1161, (community("public", "public"),), f"{HOST}:1161")
    poller.configure(PollConfig(), [target])
    entry = await poller.poll_once(target)
    assert entry is not None
    return entry


async def test_snmp_off_and_ews_on_with_a_named_profile_gives_the_pages_values() -> None:
    async with serving(HP_PAGES) as server:
        config = _config(server.port, "{scheme: http, port: PORT, profile: hp}")
        entry = await _poll(config, RecordedSnmp(None))
    snap = entry.snapshot
    counters = {c.name: (c.value, c.unit, c.source) for c in snap.counters}
    assert counters["total"] == (
        20500,
        "impressions",
        "http:/DevMgmt/ProductUsageDyn.xml#PrinterSubunit/TotalImpressions",
    )
    assert counters["duplex"][:2] == (4250, "sheets")
    assert counters["vendor_media_a4"][0] == 19000
    assert counters["vendor_media_a3"][0] == 300
    assert "vendor_media_ledger" not in counters  # not on this page: not made up
    assert counters["copy_color"][0] == 500
    assert counters["scan_total"][:2] == (4400, "pages")
    assert snap.identity.model == "Color LaserJet Test M999dn"
    assert snap.identity.serial == "TESTSN0042"
    assert (
        ValueSource(
            "identity.serial", "http:/DevMgmt/ProductConfigDyn.xml#ProductInformation/SerialNumber"
        )
        in snap.sources
    )
    assert snap.reachable
    assert snap.error is not None  # why SNMP failed stays visible
    assert [(r.reader, r.ok) for r in entry.readers] == [("ews", True)]
    body = render(
        ExporterState(snapshots=(snap,), reader_runs={snap.target: entry.readers})
    ).decode()
    assert f'printer_exporter_reader_success{{reader="ews",target="{HOST}:1161"}} 1.0' in body


async def test_ews_fills_only_the_gaps_snmp_left() -> None:
    async with serving(HP_PAGES) as server:
        entry = await _poll(_config(server.port), RecordedSnmp("vendors/hp"))
    snap = entry.snapshot
    assert snap.identity.profile == "hp"
    by_name = {c.name: c for c in snap.counters}
    assert not by_name["total"].source.startswith("http:")  # SNMP's stays
    assert by_name["vendor_media_a4"].source.startswith("http:/DevMgmt/ProductUsageDyn.xml#")
    ews_sources = [s for s in snap.sources if s.source.startswith("http:")]
    assert all(s.field != "identity.model" for s in ews_sources)  # SNMP gave the model
    served = [r.target for r in server.requests]
    assert "/DevMgmt/ProductConfigDyn.xml" not in served or snap.identity.serial is not None


async def test_ews_fills_cartridge_serials_by_colour() -> None:
    async with serving(HP_PAGES) as server:
        entry = await _poll(_config(server.port), RecordedSnmp("vendors/hp"))
    snap = entry.snapshot
    black = [s for s in snap.supplies if s.color == "black" and s.type in ("toner", "ink")]
    assert len(black) == 1
    assert black[0].serial == "KSERIAL0001"  # not the previous cartridge's, not the head's
    assert (
        ValueSource(
            f"supplies[{black[0].index}].serial",
            "http:/DevMgmt/ConsumableConfigDyn.xml#ConsumableInfo[1]/SerialNumber",
        )
        in snap.sources
    )


async def test_a_target_without_ews_never_gets_a_request() -> None:
    async with serving(HP_PAGES) as server:
        config = parse_config(f"targets: ['{HOST}:1161']\n")
        entry = await _poll(config, RecordedSnmp("vendors/hp"))
    assert server.requests == []
    assert all(r.reader != "ews" for r in entry.readers)


async def test_a_failed_ews_read_costs_only_its_part() -> None:
    routes = {path: Reply(behaviour="reset") for path in HP_PAGES}
    async with serving(routes) as server:
        entry = await _poll(_config(server.port), RecordedSnmp("vendors/hp"))
        baseline = await _poll(
            parse_config(f"targets: ['{HOST}:1161']\n"), RecordedSnmp("vendors/hp")
        )
    snap = entry.snapshot
    assert snap.counters == baseline.snapshot.counters
    assert any(w.startswith("ews: /DevMgmt/") and "connection broke" in w for w in snap.warnings)
    assert [(r.reader, r.ok) for r in entry.readers if r.reader == "ews"] == [("ews", False)]


async def test_brother_csv_first_and_the_html_page_only_when_the_csv_fails() -> None:
    csv = page("brother/mnt_info.csv", "text/csv")
    html = page("brother/information.html", "text/html")
    html_path = "/general/information.html?kind=item"
    ews = "{scheme: http, port: PORT, profile: brother}"
    async with serving({"/etc/mnt_info.csv": csv, html_path: html}) as server:
        entry = await _poll(_config(server.port, ews), RecordedSnmp(None))
    assert [r.target for r in server.requests] == ["/etc/mnt_info.csv"]
    snap = entry.snapshot
    counters = {c.name: (c.value, c.source) for c in snap.counters}
    assert counters["total"] == (8210, "http:/etc/mnt_info.csv#Page Counter")
    assert counters["print_total"][0] == 6500
    assert counters["scan_total"][0] == 2400
    assert counters["vendor_media_a4_letter"][0] == 7900
    assert (snap.identity.model, snap.identity.serial) == ("MFC-T1234DW", "E12345T6789")

    async with serving({html_path: html}) as server:
        entry = await _poll(_config(server.port, ews), RecordedSnmp(None))
    assert [r.target for r in server.requests] == ["/etc/mnt_info.csv", html_path]
    counters = {c.name: (c.value, c.source) for c in entry.snapshot.counters}
    assert counters["total"] == (8210, f"http:{html_path}#label=Page Counter")
    assert counters["copy_total"][0] == 1500  # a <dd> left open, as Brother's pages do
    assert entry.snapshot.identity.serial == "E12345T6789"
    assert any("/etc/mnt_info.csv: HTTP 404" in w for w in entry.snapshot.warnings)
