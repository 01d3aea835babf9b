"""A profile's `device_id:` source: a field of the device ID the identity reader found.

Where the IEEE 1284 device ID lives (the PWG column or one of several makers'
copies) is listed once, in `readers.vendors.DEVICE_ID_OIDS`; a profile names
only the field. These tests hold that: the HP model is found wherever the
device keeps its device ID, and reading it costs no request of its own.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest

from exporter.model import Identity
from exporter.profiles import (
    ProfileError,
    apply_vendor_read,
    load_database,
    match_profile,
    read_vendor,
)
from exporter.profiles.engine import VendorRead, plan
from exporter.profiles.model import Database, DeviceIdSpec, Profile, Transform, ValueSpec
from exporter.readers import oids
from exporter.readers.fetch import DeviceData
from exporter.readers.identity import read_identity
from exporter.readers.meters import read_counters
from exporter.readers.supplies import read_supplies
from exporter.readers.vendors import DEVICE_ID_OIDS
from exporter.snmp import SnmpProtocolError
from exporter.snmp.memory import MemoryClient
from exporter.snmp.types import Oid, SnmpValue, Walk, format_oid, is_under

PWG_ROW: Oid = (*DEVICE_ID_OIDS[0], 1)
HP_COPY: Oid = (1, 3, 6, 1, 4, 1, 11, 2, 3, 9, 1, 1, 7, 0)
HP_MODEL_NAME: Oid = (1, 3, 6, 1, 4, 1, 11, 2, 3, 9, 4, 2, 1, 1, 3, 2, 0)
# HP's 1284 MDL names a family; DES names the model (the profile's replace_if).
HP_DEVICE_ID = (
    b"MFG:HP;CMD:PJL,PCLXL;MDL:HP LaserJet MFP M129-M134;CLS:PRINTER;DES:HP LaserJet MFP M130nw;"
)


def hp_device(device_id_at: Oid | None, model_name: bytes | None = None) -> dict[Oid, SnmpValue]:
    """A small HP MFP: JetDirect sysDescr, one printer row, the device ID at `device_id_at`,
    and HP's model-name object (the profile's next source) when given."""
    values: dict[Oid, SnmpValue] = {
        oids.SYS_DESCR: b"HP ETHERNET MULTI-ENVIRONMENT",
        oids.SYS_OBJECT_ID: (1, 3, 6, 1, 4, 1, 11, 2, 3, 9, 1),
        (*oids.HR_DEVICE_TYPE, 1): oids.HR_DEVICE_PRINTER,
        (*oids.HR_DEVICE_DESCR, 1): b"HP LaserJet MFP M129-M134",
        (*oids.PRT_MARKER_LIFE_COUNT, 1, 1): 4321,
    }
    if device_id_at is not None:
        values[device_id_at] = HP_DEVICE_ID
    if model_name is not None:
        values[HP_MODEL_NAME] = model_name
    return values


class _Recording(MemoryClient):
    """Remembers every OID asked for, so a test can see what the profile engine asked."""

    def __init__(self, values: dict[Oid, SnmpValue]) -> None:
        super().__init__(values)
        self.asked: list[Oid] = []

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, SnmpValue]:
        self.asked.extend(oids)
        return await super().get(oids)

    async def walk(self, root: Oid) -> Walk:
        self.asked.append(root)
        return await super().walk(root)


class _RefusesDeviceIds(_Recording):
    """An agent whose answers for every device ID OID are refused (garbage, genErr)."""

    def _refuses(self, oid: Oid) -> bool:
        return any(is_under(oid, root) or oid == root for root in DEVICE_ID_OIDS)

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, SnmpValue]:
        if any(self._refuses(oid) for oid in oids):
            raise SnmpProtocolError("GET answered genErr")
        return await super().get(oids)

    async def walk(self, root: Oid) -> Walk:
        if self._refuses(root):
            raise SnmpProtocolError("walk answered genErr")
        return await super().walk(root)


@pytest.fixture(scope="module")
def database() -> Database:
    return load_database()


async def read_hp(
    client: MemoryClient, database: Database
) -> tuple[Identity, VendorRead, Identity, DeviceData, int]:
    """(standard identity, what the profile read, identity after the merge, data, the
    requests the profile engine made)."""
    data = DeviceData(client)
    identity = await read_identity(data)
    counters = await read_counters(data)
    supplies = await read_supplies(data)
    match = match_profile(database, identity)
    assert match is not None
    assert match.profile.name == "hp"
    before = client.stats.requests
    vendor = await read_vendor(data, match.profile, counters)
    requests = client.stats.requests - before
    applied = apply_vendor_read(identity, counters, supplies, vendor)
    return identity, vendor, applied.identity, data, requests


@pytest.mark.parametrize("where", [PWG_ROW, HP_COPY], ids=["pwg_column", "hp_copy"])
async def test_the_hp_model_comes_from_des_wherever_the_device_id_lives(
    where: Oid, database: Database
) -> None:
    """It used to be read only from HP's copy: a device that fills only the PWG column
    kept the family name 'LaserJet MFP M129-M134'."""
    standard, vendor, merged, _data, _requests = await read_hp(
        MemoryClient(hp_device(where)), database
    )
    assert standard.model == "LaserJet MFP M129-M134"
    assert merged.model == "LaserJet MFP M130nw"
    (model,) = [item for item in vendor.identity if item.field == "model"]
    assert model.source == f"{format_oid(where)}[DES]"


async def test_the_device_id_costs_the_profile_no_request(database: Database) -> None:
    """The identity reader has read the device ID; the engine takes it from the cache and
    asks for no device ID OID (it used to GET HP's copy on top of the PWG column)."""
    client = _Recording(hp_device(PWG_ROW))
    data = DeviceData(client)
    identity = await read_identity(data)
    counters = await read_counters(data)
    match = match_profile(database, identity)
    assert match is not None
    client.asked.clear()
    vendor = await read_vendor(data, match.profile, counters)
    assert any(item.value == "LaserJet MFP M130nw" for item in vendor.identity)
    assert client.asked, "the profile reads its counters with a GET"
    asked_for_device_ids = [
        format_oid(oid)
        for oid in client.asked
        if any(is_under(oid, root) or oid == root for root in DEVICE_ID_OIDS)
    ]
    assert asked_for_device_ids == []


def test_no_profile_names_a_device_id_oid(database: Database) -> None:
    """Where the device ID lives is vendors.py's fact; the database names only fields."""
    for profile in database.profiles:
        roots, scalars = plan(profile)
        for oid in (*roots, *scalars):
            assert not any(is_under(oid, root) or oid == root for root in DEVICE_ID_OIDS), (
                f"{profile.name} reads {format_oid(oid)}: use a `device_id:` source"
            )


async def test_without_a_device_id_the_next_source_is_tried(database: Database) -> None:
    values = hp_device(None, model_name=b"\x01\x15HP LaserJet MFP M130nw")
    _standard, vendor, merged, _data, _requests = await read_hp(MemoryClient(values), database)
    assert merged.model == "LaserJet MFP M130nw"
    (model,) = [item for item in vendor.identity if item.field == "model"]
    assert model.source == format_oid(HP_MODEL_NAME)


async def test_a_refused_device_id_costs_only_that_source(database: Database) -> None:
    values = hp_device(PWG_ROW, model_name=b"\x01\x15HP LaserJet MFP M130nw")
    standard, vendor, merged, data, _requests = await read_hp(_RefusesDeviceIds(values), database)
    assert any("IEEE 1284 device ID not read" in w for w in data.warnings)  # the reader's
    assert standard.model == "LaserJet MFP M129-M134"  # from hrDeviceDescr
    assert merged.model == "LaserJet MFP M130nw"  # from the next source
    assert any("device ID not read" in note for note in vendor.notes)
    assert vendor.counters or vendor.identity, "the rest of the profile was read"


# --- any of the places, through a profile of our own -----------------------------------

SERIAL_PROFILE = """
profiles:
  - name: acme
    vendor: Ricoh
    match:
      - manufacturer: Ricoh
    identity:
      serial: {device_id: SN}
      model:
        sources:
          - {device_id: DES, transforms: [strip_maker]}
          - {device_id: MDL, transforms: [strip_maker]}
"""
HEADER = 'schema: 1\nversion: "2026.1.1.1"\n'


def write_db(root: Path, body: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "_database.yaml").write_text(HEADER)
    (root / "acme.yaml").write_text(textwrap.dedent(body))
    return root


def acme(tmp_path: Path, body: str = SERIAL_PROFILE) -> Profile:
    profile = load_database(base_dir=write_db(tmp_path, body)).get("acme")
    assert profile is not None
    return profile


def test_device_id_sources_load_as_fields_not_oids(tmp_path: Path) -> None:
    profile = acme(tmp_path)
    assert profile.identity["serial"].sources == (DeviceIdSpec("SN"),)
    des, mdl = profile.identity["model"].sources
    assert des == DeviceIdSpec("DES", (Transform("strip_maker"),))
    assert isinstance(mdl, DeviceIdSpec)
    assert mdl.key == "MDL"
    assert des.steps == (Transform("device_id", "DES"), Transform("strip_maker"))
    assert str(des) == "device_id:DES"
    assert plan(profile) == ((), ())


@pytest.mark.parametrize("where", DEVICE_ID_OIDS, ids=format_oid)
async def test_every_place_the_identity_reader_looks_is_read(tmp_path: Path, where: Oid) -> None:
    """Row 1 of each place: the PWG column's first printer, or a vendor copy's first row."""
    data = DeviceData(MemoryClient({(*where, 1): b"MFG:RICOH;MDL:RICOH MP C3004;SN:E174M700123;"}))
    vendor = await read_vendor(data, acme(tmp_path))
    got = {item.field: (item.value, item.source) for item in vendor.identity}
    at = format_oid((*where, 1))
    assert got == {
        "serial": ("E174M700123", f"{at}[SN]"),
        "model": ("MP C3004", f"{at}[MDL]"),  # no DES: the next source
    }


async def test_a_device_without_a_device_id_gives_no_field(tmp_path: Path) -> None:
    vendor = await read_vendor(DeviceData(MemoryClient({})), acme(tmp_path))
    assert vendor.identity == ()


@pytest.mark.parametrize(
    ("identity", "needle"),
    [
        ("serial: {device_id: sn}", "identity.serial.device_id: must be the name of an IEEE 1284"),
        ("serial: {device_id: 7}", "identity.serial.device_id: must be the name of an IEEE 1284"),
        (
            "serial: {device_id: SN, oid: 1.3.6.1.4.1.367.9.1.0}",
            "identity.serial: must give 'device_id' or 'oid', not both",
        ),
        (
            "serial:\n        sources:\n          - {device_id: SN, oid: 1.3.6.1.4.1.367.9.1.0}",
            "identity.serial.sources[0]: must give 'oid' or 'device_id', not both",
        ),
        (
            "serial:\n        sources:\n          - {device_id: SN, oids: [1.3.6.1.4.1.367.9.1.0]}",
            "identity.serial.sources[0].oids: unknown key",
        ),
    ],
)
def test_bad_device_id_sources_are_named(tmp_path: Path, identity: str, needle: str) -> None:
    body = f"""
profiles:
  - name: acme
    vendor: Ricoh
    match:
      - manufacturer: Ricoh
    identity:
      {identity}
"""
    write_db(tmp_path, body)
    with pytest.raises(ProfileError) as caught:
        load_database(base_dir=tmp_path)
    assert needle in str(caught.value), str(caught.value)


def test_a_counter_cannot_read_the_device_id(tmp_path: Path) -> None:
    """A device ID field is text about the device, never a meter."""
    body = """
profiles:
  - name: acme
    vendor: Ricoh
    match:
      - manufacturer: Ricoh
    counters:
      - name: total
        sources:
          - {device_id: SN}
"""
    write_db(tmp_path, body)
    with pytest.raises(ProfileError) as caught:
        load_database(base_dir=tmp_path)
    assert "counters[0].sources[0].device_id: unknown key" in str(caught.value)


def test_value_sources_are_unchanged(tmp_path: Path) -> None:
    body = SERIAL_PROFILE.replace("serial: {device_id: SN}", "serial: {oid: 1.3.6.1.4.1.367.9.1.0}")
    profile = acme(tmp_path, body)
    assert profile.identity["serial"].sources == (ValueSpec((1, 3, 6, 1, 4, 1, 367, 9, 1, 0)),)
    assert plan(profile) == ((), ((1, 3, 6, 1, 4, 1, 367, 9, 1, 0),))
