"""Run snmpsim as a real SNMP agent on loopback, for integration tests and demos.

Why a subprocess: the exporter's SNMP stack must be tested against an agent it
does not share a process, an event loop or a pysnmp engine with, and the
project rule keeps pysnmp out of everything but `exporter/snmp/`. So this
module starts `snmpsim-command-responder` and talks to it only with a few
hand-built BER packets over plain UDP sockets.

Why so careful about readiness: snmpsim binds its UDP socket inside an asyncio
future and swallows a bind failure, so a dead endpoint looks exactly like a
slow one, and a port taken by another process (another simulator in a parallel
test run) answers in its place. `start()` therefore waits for a real SNMP
answer and then checks, by SNMPv3 engine discovery, that the answer came from
*this* simulator's engine.

Safety: only 127.0.0.0/8 literals are accepted, and every probe loop is
bounded in both count and time.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

AuthProtocol = Literal["none", "MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"]
PrivProtocol = Literal["none", "DES", "AES", "AES128", "AES192", "AES256"]
LogLevel = Literal["debug", "info", "error"]

RESPONDER = "snmpsim-command-responder"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
_PEN_PREFIX = bytes.fromhex("80004fb805")
"""Engine ID head: enterprise 20408 (the pysnmp/snmpsim PEN) with format 5, opaque octets."""

_MAX_PROBES = 300
_PROBE_WAIT = 0.1
_STOP_WAIT = 5.0
_PORT_ATTEMPTS = 3
_PORT_SEARCHES = 20


class SimulatorError(RuntimeError):
    """The agent could not be started or did not answer; the message carries its log tail."""


def require_loopback(host: str) -> str:
    """Return `host` if it is an IPv4 literal in 127.0.0.0/8, else raise ValueError.

    A name such as "localhost" is refused too: a resolver could map it anywhere,
    and tests must never send a packet off the machine.
    """
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        raise ValueError(f"not an IPv4 literal in 127.0.0.0/8: {host!r}") from None
    if address not in _LOOPBACK:
        raise ValueError(f"refusing non-loopback address {host!r}: only 127.0.0.0/8 is allowed")
    return str(address)


@dataclass(frozen=True, slots=True)
class V3User:
    """One SNMPv3 USM user, checked up front because snmpsim rejects bad ones only in its log."""

    name: str
    auth_protocol: AuthProtocol = "none"
    auth_key: str | None = None
    priv_protocol: PrivProtocol = "none"
    priv_key: str | None = None

    def __post_init__(self) -> None:
        # snmpsim splits its engine options on "=", so a value holding one is silently cut.
        for label, value in (
            ("name", self.name),
            ("auth key", self.auth_key),
            ("priv key", self.priv_key),
        ):
            if value is not None and ("=" in value or not value or value != value.strip()):
                raise ValueError(f"SNMPv3 user {self.name!r}: bad {label} {value!r}")
        if (self.auth_protocol == "none") != (self.auth_key is None):
            raise ValueError(f"SNMPv3 user {self.name!r}: auth protocol and key go together")
        if (self.priv_protocol == "none") != (self.priv_key is None):
            raise ValueError(f"SNMPv3 user {self.name!r}: priv protocol and key go together")
        if self.priv_protocol != "none" and self.auth_protocol == "none":
            raise ValueError(f"SNMPv3 user {self.name!r}: privacy needs authentication")
        for key in (self.auth_key, self.priv_key):
            if key is not None and len(key) < 8:
                raise ValueError(f"SNMPv3 user {self.name!r}: keys need at least 8 characters")

    @property
    def security_level(self) -> Literal["noAuthNoPriv", "authNoPriv", "authPriv"]:
        if self.priv_protocol != "none":
            return "authPriv"
        return "authNoPriv" if self.auth_protocol != "none" else "noAuthNoPriv"

    def arguments(self) -> list[str]:
        args = [f"--v3-user={self.name}"]
        if self.auth_key is not None:
            args += [f"--v3-auth-key={self.auth_key}", f"--v3-auth-proto={self.auth_protocol}"]
        if self.priv_key is not None:
            args += [f"--v3-priv-key={self.priv_key}", f"--v3-priv-proto={self.priv_protocol}"]
        return args


# --- BER, just enough for a v2c GET and a v3 engine discovery -----------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _length(len(body)) + body


def _integer(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def _octets(value: bytes) -> bytes:
    return _tlv(0x04, value)


def _sequence(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _oid(text: str) -> bytes:
    arcs = [int(a) for a in text.strip(".").split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or any(a < 0 for a in arcs):
        raise ValueError(f"bad OID {text!r}")
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return _tlv(0x06, bytes(body))


def encode_get_request(
    community: str | bytes, oid: str, request_id: int, *, get_next: bool = False
) -> bytes:
    """An SNMPv2c GET or GETNEXT for one OID, built by hand so tests need no SNMP library."""
    if isinstance(community, str):
        community = community.encode()
    varbind = _sequence(_oid(oid), b"\x05\x00")
    body = _integer(request_id) + _integer(0) + _integer(0) + _sequence(varbind)
    return _sequence(_integer(1), _octets(community), _tlv(0xA1 if get_next else 0xA0, body))


def encode_v3_discovery(message_id: int) -> bytes:
    """An SNMPv3 engine-discovery probe (RFC 3414 §4): the Report that answers names the engine."""
    header = _sequence(_integer(message_id), _integer(65507), _octets(b"\x04"), _integer(3))
    usm = _sequence(
        _octets(b""), _integer(0), _integer(0), _octets(b""), _octets(b""), _octets(b"")
    )
    pdu = _tlv(0xA0, _integer(message_id) + _integer(0) + _integer(0) + _sequence())
    scoped = _sequence(_octets(b""), _octets(b""), pdu)
    return _sequence(_integer(3), header, _octets(usm), scoped)


def _read(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, value, next position) of the TLV at `pos`; raises ValueError when cut short."""
    if pos + 2 > len(data):
        raise ValueError("truncated BER")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first & 0x80:
        width = first & 0x7F
        if width == 0 or width > 4 or pos + width > len(data):
            raise ValueError("bad BER length")
        size = int.from_bytes(data[pos : pos + width], "big")
        pos += width
    else:
        size = first
    if pos + size > len(data):
        raise ValueError("truncated BER")
    return tag, data[pos : pos + size], pos + size


def _children(body: bytes) -> list[tuple[int, bytes]]:
    items, pos = [], 0
    while pos < len(body):
        tag, value, pos = _read(body, pos)
        items.append((tag, value))
    return items


def _decode_oid(body: bytes) -> str:
    arcs: list[int] = []
    value = 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        return ""
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


@dataclass(frozen=True, slots=True)
class VarBind:
    """One returned binding: the BER tag says the type (0x80-0x82 are the v2 exceptions)."""

    oid: str
    tag: int
    raw: bytes

    @property
    def value(self) -> int | bytes | str | None:
        if self.tag in (0x02,):
            return int.from_bytes(self.raw, "big", signed=True)
        if self.tag in (0x41, 0x42, 0x43, 0x46, 0x47):
            return int.from_bytes(self.raw, "big", signed=False)
        if self.tag == 0x06:
            return _decode_oid(self.raw)
        if self.tag in (0x04, 0x40, 0x44):
            return self.raw
        return None


@dataclass(frozen=True, slots=True)
class Response:
    request_id: int
    error_status: int
    error_index: int
    varbinds: tuple[VarBind, ...]


def decode_response(data: bytes) -> Response:
    """Decode an SNMPv1/v2c Response-PDU; raises ValueError on anything else."""
    tag, message, _ = _read(data, 0)
    parts = _children(message) if tag == 0x30 else []
    if len(parts) != 3 or parts[2][0] != 0xA2:
        raise ValueError("not an SNMPv1/v2c Response-PDU")
    fields = _children(parts[2][1])
    if len(fields) != 4:
        raise ValueError("malformed PDU")
    varbinds = []
    for _, vb in _children(fields[3][1]):
        (_, name), (value_tag, value) = _children(vb)
        varbinds.append(VarBind(_decode_oid(name), value_tag, value))
    return Response(
        request_id=int.from_bytes(fields[0][1], "big", signed=True),
        error_status=int.from_bytes(fields[1][1], "big"),
        error_index=int.from_bytes(fields[2][1], "big"),
        varbinds=tuple(varbinds),
    )


def decode_engine_id(data: bytes) -> bytes:
    """The authoritative engine ID from an SNMPv3 message; raises ValueError if there is none."""
    tag, message, _ = _read(data, 0)
    parts = _children(message) if tag == 0x30 else []
    if len(parts) != 4 or parts[0] != (0x02, b"\x03") or parts[2][0] != 0x04:
        raise ValueError("not an SNMPv3 message")
    _, usm, _ = _read(parts[2][1], 0)
    return _children(usm)[0][1]


def _exchange(host: str, port: int, packet: bytes, timeout: float) -> bytes | None:
    """Send one datagram and return the first reply, or None after `timeout` seconds."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(max(timeout, 0.001))
        sock.sendto(packet, (require_loopback(host), port))
        try:
            reply, _ = sock.recvfrom(65535)
        except (TimeoutError, ConnectionRefusedError):
            return None
        return reply


def snmp_get(
    host: str,
    port: int,
    community: str,
    oid: str = SYS_OBJECT_ID,
    *,
    timeout: float = 1.0,
    get_next: bool = False,
) -> Response | None:
    """One SNMPv2c GET (or GETNEXT), no retries; None when nothing (or garbage) came back."""
    request_id = secrets.randbelow(2**31 - 1) + 1
    packet = encode_get_request(community, oid, request_id, get_next=get_next)
    reply = _exchange(host, port, packet, timeout)
    if reply is None:
        return None
    try:
        response = decode_response(reply)
    except ValueError:
        return None
    return response if response.request_id == request_id else None


def discover_engine_id(host: str, port: int, *, timeout: float = 1.0) -> bytes | None:
    """The SNMPv3 engine ID that answers on host:port, or None when nothing answered."""
    reply = _exchange(host, port, encode_v3_discovery(secrets.randbelow(2**31 - 1) + 1), timeout)
    if reply is None:
        return None
    try:
        return decode_engine_id(reply)
    except ValueError:
        return None


# --- the simulator -------------------------------------------------------------------------


def find_responder() -> str:
    """The snmpsim launcher beside this interpreter (the venv's bin), else on PATH."""
    beside = Path(sys.executable).parent / RESPONDER
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(RESPONDER)
    if found is None:
        raise SimulatorError(f"{RESPONDER} not found beside {sys.executable} or on PATH")
    return found


def _free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` (loopback only) that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((require_loopback(host), 0))
        port: int = sock.getsockname()[1]
        return port


def free_udp_port(hosts: Sequence[str]) -> int:
    """A UDP port free on every one of `hosts` (loopback only), for a fleet on one port.

    Raises SimulatorError after a bounded number of tries.
    """
    for host in hosts:
        require_loopback(host)
    for _ in range(_PORT_SEARCHES):
        port = _free_udp_port(hosts[0])
        try:
            for host in hosts[1:]:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                    probe.bind((host, port))
        except OSError:
            continue
        return port
    raise SimulatorError(f"no UDP port free on all of {len(hosts)} addresses")


def _communities(data_dir: Path) -> list[str]:
    return sorted(p.name.removesuffix(".snmprec") for p in data_dir.glob("*.snmprec"))


class Simulator:
    """snmpsim serving one directory of `.snmprec` files on loopback UDP endpoints.

    Each file answers SNMPv1/v2c on the community named after it (`color_mfp.snmprec`
    -> community `color_mfp`) and SNMPv3 on the context name of the same spelling.
    snmpsim answers SNMPv3 requests with an *empty* context name only from a file
    called `self.snmprec`; `v3_empty_context="name"` copies `name.snmprec` there
    (into a private directory, so the data directory is never written to) because
    real printers serve everything in the empty context.

    `variation_dirs` are where snmpsim finds variation modules (records tagged
    `<type>:<module>`, such as demo/variation/life.py); `v3_only` makes an agent
    that answers SNMPv3 alone, as a site that turned v1/v2c off has: every
    community goes unanswered. Its readiness is then probed by engine discovery.

    Use as a context manager, or call `start()` and `stop()`.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        endpoints: Sequence[tuple[str, int | None]] = (("127.0.0.1", None),),
        *,
        v3_users: Sequence[V3User] = (),
        engine_id: str | None = None,
        v3_empty_context: str | None = None,
        probe_community: str | None = None,
        start_timeout: float = 30.0,
        log_level: LogLevel = "info",
        executable: str | None = None,
        variation_dirs: Sequence[str | os.PathLike[str]] = (),
        v3_only: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        if not self.data_dir.is_dir():
            raise ValueError(f"not a directory: {self.data_dir}")
        if not endpoints:
            raise ValueError("at least one endpoint is needed")
        self._requested: list[tuple[str, int | None]] = []
        for host, port in endpoints:
            if port is not None and not 0 <= port <= 65535:
                raise ValueError(f"bad UDP port {port}")
            self._requested.append((require_loopback(host), port or None))
        names = [u.name for u in v3_users]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate SNMPv3 user names: {names}")
        self.v3_users = tuple(v3_users)
        if engine_id is not None:
            raw = bytes.fromhex(engine_id)
            if not 5 <= len(raw) <= 32:
                raise ValueError("an SNMPv3 engine ID has 5 to 32 octets")
        self._engine_id_option = engine_id
        communities = _communities(self.data_dir)
        if v3_empty_context is not None and v3_empty_context not in communities:
            raise ValueError(f"no {v3_empty_context}.snmprec in {self.data_dir}")
        self.v3_empty_context = v3_empty_context
        self.probe_community = probe_community or (communities[0] if communities else None)
        if self.probe_community is None:
            raise ValueError(f"no .snmprec files in {self.data_dir} to probe readiness with")
        if v3_only and not v3_users:
            raise ValueError("an SNMPv3-only agent needs at least one SNMPv3 user")
        self.v3_only = v3_only
        self.variation_dirs = tuple(Path(d).resolve() for d in variation_dirs)
        for directory in self.variation_dirs:
            if not directory.is_dir():
                raise ValueError(f"not a directory: {directory}")
        self.start_timeout = start_timeout
        self.log_level = log_level
        self.executable = executable
        self.engine_id: bytes | None = None
        self._endpoints: list[tuple[str, int]] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None

    # -- public surface --

    @property
    def endpoints(self) -> list[tuple[str, int]]:
        """The (host, port) pairs actually served; ports chosen at start when 0/None was asked."""
        if not self._endpoints:
            raise RuntimeError("the simulator is not running")
        return list(self._endpoints)

    @property
    def host(self) -> str:
        return self.endpoints[0][0]

    @property
    def port(self) -> int:
        return self.endpoints[0][1]

    @property
    def workdir(self) -> Path | None:
        """The private directory (index cache, log) while running; None once stopped."""
        return self._workdir

    def v3_user(self, name: str) -> V3User:
        """The configured SNMPv3 user called `name` (KeyError if there is none)."""
        for user in self.v3_users:
            if user.name == name:
                return user
        raise KeyError(name)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Launch the agent and return once every endpoint answers as this agent.

        Ports left to us are picked free just before launch; if another process
        wins one in the meantime (the engine ID check catches it), we retry
        with new ports, a bounded number of times.
        """
        if self._process is not None:
            raise RuntimeError("the simulator is already started")
        auto_ports = any(port is None for _, port in self._requested)
        attempts = _PORT_ATTEMPTS if auto_ports else 1
        for attempt in range(1, attempts + 1):
            try:
                self._launch()
                self._wait_ready()
                return
            except _ForeignEndpoint as exc:
                self.stop()
                if attempt == attempts:
                    raise SimulatorError(str(exc)) from None
            except BaseException:
                self.stop()
                raise

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a bound; then remove the private files. Idempotent."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=_STOP_WAIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=_STOP_WAIT)
        workdir, self._workdir = self._workdir, None
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        self._endpoints = []
        self.engine_id = None

    def log_tail(self, lines: int = 40) -> str:
        """The end of the agent's log (its requests and errors), for failure messages."""
        if self._workdir is None:
            return "<no log: the simulator is not running>"
        try:
            text = (self._workdir / "snmpsim.log").read_text(errors="replace")
        except OSError as exc:
            return f"<log unreadable: {exc}>"
        return "\n".join(text.splitlines()[-lines:])

    # -- internals --

    def _launch(self) -> None:
        self._workdir = Path(tempfile.mkdtemp(prefix="printer-exporter-snmpsim-"))
        cache = self._workdir / "cache"
        cache.mkdir()
        self._endpoints = [
            (host, port if port is not None else _free_udp_port(host))
            for host, port in self._requested
        ]
        engine_hex = self._engine_id_option or (_PEN_PREFIX + secrets.token_bytes(8)).hex()
        self.engine_id = bytes.fromhex(engine_hex)
        args = [
            self.executable or find_responder(),
            f"--cache-dir={cache}",
            "--logging-method=stderr",
            f"--log-level={self.log_level}",
            f"--v3-engine-id={engine_hex}",
            f"--data-dir={self.data_dir}",
        ]
        if self.v3_empty_context is not None:
            extra = self._workdir / "empty-context"
            extra.mkdir()
            shutil.copyfile(
                self.data_dir / f"{self.v3_empty_context}.snmprec", extra / "self.snmprec"
            )
            args.append(f"--data-dir={extra}")
        args += [f"--variation-modules-dir={d}" for d in self.variation_dirs]
        if self.v3_only:
            args.append("--v3-only")
        args += [f"--agent-udpv4-endpoint={host}:{port}" for host, port in self._endpoints]
        for user in self.v3_users:
            args += user.arguments()
        env = dict(os.environ, SNMPSIM_ALLOW_ROOT="true", PYTHONUNBUFFERED="1")
        with open(self._workdir / "snmpsim.log", "wb") as log:
            self._process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self._workdir,
            )

    def _wait_ready(self) -> None:
        """Probe each endpoint until it answers (`_answers`), then check whose engine it is.

        Probes are spaced so that at most `_MAX_PROBES` go out in `start_timeout`.
        Every tenth unanswered probe also asks for the engine ID, so a port held
        by a foreign agent that does not know our community fails fast instead
        of timing out.
        """
        assert self._process is not None
        assert self.probe_community is not None
        deadline = time.monotonic() + self.start_timeout
        interval = max(_PROBE_WAIT + 0.05, self.start_timeout / _MAX_PROBES)
        probes = 0
        for host, port in self._endpoints:
            while True:
                if self._process.poll() is not None:
                    raise SimulatorError(
                        f"snmpsim exited with status {self._process.returncode} before "
                        f"answering on {host}:{port}; log tail:\n{self.log_tail()}"
                    )
                started = time.monotonic()
                if started >= deadline or probes >= _MAX_PROBES:
                    raise SimulatorError(
                        f"snmpsim did not answer on {host}:{port} within {self.start_timeout}s "
                        f"({probes} probes; is the port taken?); log tail:\n{self.log_tail()}"
                    )
                probes += 1
                wait = min(_PROBE_WAIT, deadline - started)
                if self._answers(host, port, wait):
                    break
                if probes % 10 == 0 and not self.v3_only:
                    self._refuse_foreign(host, port, discover_engine_id(host, port, timeout=wait))
                pause = min(interval - (time.monotonic() - started), deadline - time.monotonic())
                time.sleep(max(0.0, pause))
            self._check_engine(host, port, deadline)

    def _answers(self, host: str, port: int, wait: float) -> bool:
        """One readiness probe: a v2c GET, or for an SNMPv3-only agent (which ignores
        communities) an engine discovery, refused at once if a foreign engine answers."""
        if not self.v3_only:
            assert self.probe_community is not None
            return snmp_get(host, port, self.probe_community, timeout=wait) is not None
        found = discover_engine_id(host, port, timeout=wait)
        self._refuse_foreign(host, port, found)
        return found is not None

    def _check_engine(self, host: str, port: int, deadline: float) -> None:
        for _ in range(5):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            found = discover_engine_id(host, port, timeout=min(1.0, remaining))
            if found is not None:
                self._refuse_foreign(host, port, found)
                return
        raise SimulatorError(
            f"{host}:{port} answered SNMPv2c but not SNMPv3 engine discovery; "
            f"log tail:\n{self.log_tail()}"
        )

    def _refuse_foreign(self, host: str, port: int, found: bytes | None) -> None:
        if found is not None and found != self.engine_id:
            ours = self.engine_id.hex() if self.engine_id else "?"
            raise _ForeignEndpoint(
                f"{host}:{port} is answered by engine {found.hex()}, not ours ({ours}): "
                f"another agent has the port; log tail:\n{self.log_tail()}"
            )


class _ForeignEndpoint(Exception):
    """A port we chose was taken by someone else between choosing and binding."""
