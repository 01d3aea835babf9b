"""Write dashboards/*.json from the Python beside them, or check that they agree.

    python -m dashboards.generate           # rewrite the JSON files
    python -m dashboards.generate --check   # exit 1, naming the files, if any differs

The JSON files are what Grafana loads (imported or provisioned); this code is where they
are edited. tests/unit/test_dashboards.py runs the check, so a hand edit of the JSON that
is not carried back here fails the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from dashboards import billing, device, exporter_health, fleet, supplies
from dashboards._grafana import Json

HERE = Path(__file__).resolve().parent
BUILDERS: dict[str, Callable[[], Json]] = {
    "printer-fleet": fleet.build,
    "printer-device": device.build,
    "printer-supplies": supplies.build,
    "printer-billing": billing.build,
    "printer-exporter-health": exporter_health.build,
}
"""Each dashboard's file stem (also its uid) and the function that builds it."""


def render(doc: Json) -> str:
    """The file's text: two-space JSON, non-ASCII kept, a final newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def stale(directory: Path = HERE) -> list[str]:
    """The stems whose file is missing or differs from what the code builds."""
    out = []
    for stem, build in BUILDERS.items():
        path = directory / f"{stem}.json"
        if not path.is_file() or path.read_text(encoding="utf-8") != render(build()):
            out.append(stem)
    return out


def write(directory: Path = HERE) -> list[Path]:
    paths = []
    for stem, build in BUILDERS.items():
        path = directory / f"{stem}.json"
        path.write_text(render(build()), encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; write nothing")
    args = parser.parse_args(argv)
    if args.check:
        differ = stale()
        for stem in differ:
            print(f"dashboards/{stem}.json differs from its code: python -m dashboards.generate")
        return 1 if differ else 0
    for path in write():
        print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
