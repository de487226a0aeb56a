"""`tocsin oncall` commands as plain functions returning exit codes; cli/oncall_commands.py registers them.

- `simulate`: who a policy would tell, when and how, for an alert at an instant (offline, from the config file).
- `ack` / `resolve`: act on an alert group through a running server's API.
"""

from __future__ import annotations

import json
import ssl
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

from tocsin.config.errors import ConfigErrors


def parse_instant(text: str, now: datetime | None = None) -> datetime:
    """`now`, or an ISO 8601 instant (`2026-03-29T07:50:00Z`; without an offset it is UTC)."""
    if text == "now":
        return now or datetime.now(UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def simulate_command(
    config_path: Path, policy: str, at: str, urgency: str = "high", as_json: bool = False, out: TextIO = sys.stdout
) -> int:
    """Print the simulation of `policy` for an alert at `at`; 1 on config errors or an unknown policy."""
    from tocsin.config.loader import load_config
    from tocsin.oncall.config import OncallConfig
    from tocsin.oncall.directory import compile_directory
    from tocsin.oncall.simulate import render, simulate

    try:
        loaded = load_config(config_path)
        instant = parse_instant(at)
    except ConfigErrors as exc:
        print(exc.format(), file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"--at: {exc}; write an instant like 2026-03-29T07:50:00Z, or now", file=sys.stderr)
        return 1
    cfg = getattr(loaded.config, "oncall", None) or OncallConfig()
    try:
        sim = simulate(compile_directory(cfg), policy, instant, "low" if urgency == "low" else "high")
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 1
    print(sim.model_dump_json(indent=2) if as_json else render(sim), file=out)
    return 0


def group_command(url: str, token: str | None, key: str, action: str, out: TextIO = sys.stdout) -> int:
    """POST `/api/v1/alerts/group/{action}?key=KEY` to a running server and print its answer."""
    if not token:
        print("give an API token with --token or TOCSIN_TOKEN (scope write)", file=sys.stderr)
        return 1
    target = f"{url.rstrip('/')}/api/v1/alerts/group/{action}?key={quote(key, safe='')}"
    request = urllib.request.Request(target, method="POST", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=15, context=ssl.create_default_context()) as reply:
            body = json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        print(f"{action} failed: {exc.code} {exc.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"cannot reach {url}: {exc}", file=sys.stderr)
        return 1
    print(f"{action}: {body['status']}", file=out)
    return 0
