"""Vendor profiles: the database of vendor OIDs that turns a lifetime count into billing meters.

The standard Printer-MIB gives one lifetime count (prtMarkerLifeCount). Every
serious data collector keeps a "scan engine database" of vendor OIDs for the
rest: mono against colour, print/copy/fax/scan, duplex, large format, plus the
identity facts and supply quirks that only the vendor MIBs carry. This package
is that database (YAML, one file per maker family, versioned in
`_database.yaml`) and the code that reads it. The schema is documented in
`SCHEMA.md` beside this file; per maker, docs/profiles.md lists every OID and
the public source it was learned from.

Flow, for one poll of one device (the standard readers have run first):

    database = default_database()                      # loader: YAML -> frozen Database
    match = match_profile(database, identity)          # match: which profile, and why
    vendor = await read_vendor(data, match.profile, standard_counters)   # engine
    applied = apply_vendor_read(identity, counters, supplies, vendor)    # apply: merge

Meter integrity across polls (wraps, decreases, vendor totals that disagree) is not
profile logic and lives in `exporter.integrity`, beside the poller that runs it.

Modules:
- `model`: the frozen dataclasses the YAML becomes, and the counter vocabulary.
- `loader` / `validate` (`checks`, the small checks every section uses; `validate_ews`,
  the `ews:` pages): load, validate (errors name file, path and value), inheritance,
  override directory and database version.
- `match`: rule precedence, most specific first; the reason text.
- `engine`: batched GETs and table walks through `DeviceData`; counters with
  `source` = OID or `formula(...)`.
- `brother`: Brother's packed maintenance and counter strings (pure decoder).
- `transforms`: value transforms a profile may name (pure).
- `apply`: merge into identity, counters and supplies; supply quirks.
- `tools`: `check_database` and `explain`, for the CLI.

Errors: `ProfileError` (an invalid database; `.problems` lists every reason).
SNMP errors from the engine are the SNMP layer's own `SnmpError` family.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from exporter.profiles.apply import Applied, apply_vendor_read
from exporter.profiles.engine import IdentityValue, VendorRead, VendorSupply, read_vendor
from exporter.profiles.loader import PACKAGE_DIR, ProfileError, load_database
from exporter.profiles.match import Match, match_profile
from exporter.profiles.model import Database, Profile
from exporter.profiles.tools import check_database, explain

__all__ = [
    "PACKAGE_DIR",
    "Applied",
    "Database",
    "IdentityValue",
    "Match",
    "Profile",
    "ProfileError",
    "VendorRead",
    "VendorSupply",
    "apply_vendor_read",
    "check_database",
    "default_database",
    "explain",
    "load_database",
    "match_profile",
    "read_vendor",
]


@lru_cache(maxsize=4)
def default_database(override_dir: Path | None = None) -> Database:
    """The database for this process, loaded once per override directory.

    A reload (SIGHUP, /-/reload, a pull_sync update) calls
    `default_database.cache_clear()` first; if the new files are invalid the
    ProfileError propagates and the caller keeps the database it had.
    """
    return load_database(override_dir)
