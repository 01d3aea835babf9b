"""The dealer's web console: sign-in, agents and their health, devices across sites, a
device's meter history, and the billing export, as server-rendered pages under /console.

    mount = console_routes(engine, ConsoleSettings(), bcrypt_limiter, decoy_hash)

Parts, each with one job:
- `sessions`: sessions and the sign-in lockout, in the database (the archive
  keeps nothing in a process, so any number of processes serve one console);
- `documents`: stored snapshots read for display, tolerant of anything a site
  sent;
- `views`: what each page shows, read from the database;
- `pages`: HTTP: cookies, CSRF, the pages (Jinja2, `archive/templates/`) and
  the downloads.

docs/archive.md ("Console") is the user's side of it.
"""

from __future__ import annotations

import anyio
from sqlalchemy import Engine
from starlette.routing import BaseRoute

from archive.console.pages import Console, ConsoleSettings
from archive.console.sessions import Rules

__all__ = ["ConsoleSettings", "Rules", "console_routes"]


def console_routes(
    engine: Engine, settings: ConsoleSettings, bcrypt: anyio.CapacityLimiter, decoy: str
) -> BaseRoute:
    """The console's routes, one mount at /console, over `engine`."""
    return Console(engine, settings, bcrypt, decoy).routes()
