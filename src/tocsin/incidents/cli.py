"""`tocsin incident` against a running server: declare an incident through the API."""

from __future__ import annotations

import json
import ssl
import sys
import urllib.error
import urllib.request
from typing import Any, TextIO


def declare_command(url: str, token: str | None, body: dict[str, Any], out: TextIO = sys.stdout) -> int:
    """POST `/api/v1/incidents` to a running server and print the new incident's id and link."""
    if not token:
        print("give an API token with --token or TOCSIN_TOKEN (scope write)", file=sys.stderr)
        return 1
    base = url.rstrip("/")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    request = urllib.request.Request(f"{base}/api/v1/incidents", json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=15, context=ssl.create_default_context()) as reply:
            incident = json.loads(reply.read())["incident"]
    except urllib.error.HTTPError as exc:
        print(f"declare failed ({exc.code}): {_reason(exc.read())}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"cannot reach {url}: {exc}", file=sys.stderr)
        return 1
    print(f"declared incident {incident['id']} ({incident['severity']}): {base}/incidents/{incident['id']}", file=out)
    return 0


def _reason(body: bytes) -> str:
    """The server's `detail` (a sentence, or FastAPI's list of field errors), else the raw body."""
    try:
        detail = json.loads(body)["detail"]
    except (ValueError, KeyError, TypeError):
        return body.decode(errors="replace")
    if isinstance(detail, list):
        return "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail)
    return str(detail)
