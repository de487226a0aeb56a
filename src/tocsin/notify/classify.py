"""Turn the outcome of one outgoing request into a result or a classified failure.

Retryable: connection errors, timeouts, 408, 429 and 5xx (with the server's Retry-After
when it gives one). Permanent: every other 4xx, leftover 3xx, invalid URLs, redirect loops.
`deliver()` is the one place a channel's HTTP request is made, so every channel
classifies the same way and no error message carries a URL path (paths hold tokens).
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from yarl import URL

from tocsin import __version__
from tocsin.notify.model import DeliveryError, DeliveryResult, PermanentError, RetryableError

__all__ = [
    "USER_AGENT",
    "Reply",
    "RequestOptions",
    "check_status",
    "classify_exception",
    "deliver",
    "parse_retry_after",
]

USER_AGENT = f"tocsin/{__version__}"
_BODY_LIMIT = 64 * 1024  # read at most this much of a reply: enough for any API error, bounded for hostile ones
_EXCERPT = 200


@dataclass(frozen=True, slots=True)
class RequestOptions:
    """How to make a channel's requests: timeout, extra headers (auth), TLS, proxy, redirects."""

    timeout: float = 10.0
    headers: Mapping[str, str] = field(default_factory=dict)
    ssl: ssl.SSLContext | bool = True
    proxy: str | None = None
    follow_redirects: bool = True


@dataclass(frozen=True, slots=True)
class Reply:
    """A 2xx reply: status, headers, the start of the body and how long it took."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    latency_ms: float

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        return _loads(self.body)

    def result(self, detail: str = "") -> DeliveryResult:
        """This reply as a `DeliveryResult` (detail defaults to the start of the body)."""
        text = detail or self.body[:_EXCERPT].decode(errors="replace").strip()
        return DeliveryResult(self.status, round(self.latency_ms, 3), text)


async def deliver(
    http: aiohttp.ClientSession,
    method: str,
    url: str | URL,
    *,
    body: bytes,
    headers: Mapping[str, str],
    options: RequestOptions,
) -> Reply:
    """Send one request and return the 2xx reply; raise `RetryableError` / `PermanentError` otherwise."""
    target = URL(url) if isinstance(url, str) else url
    started = time.perf_counter()
    try:
        async with http.request(
            method,
            target,
            data=body,
            headers={"User-Agent": USER_AGENT, **options.headers, **headers},
            timeout=aiohttp.ClientTimeout(total=options.timeout),
            ssl=options.ssl,
            proxy=options.proxy,
            allow_redirects=options.follow_redirects,
        ) as response:
            payload = await response.content.read(_BODY_LIMIT)
            status, reply_headers = response.status, dict(response.headers)
    except Exception as exc:
        raise classify_exception(exc, target.host or "", options.timeout) from exc
    check_status(status, reply_headers, payload, target.host or "")
    return Reply(status, reply_headers, payload, (time.perf_counter() - started) * 1000)


def check_status(status: int, headers: Mapping[str, str], body: bytes, host: str = "") -> None:
    """Return for 2xx; raise `RetryableError` for 408, 429 and 5xx, `PermanentError` for anything else."""
    if 200 <= status < 300:
        return
    message = f"HTTP {status} from {host or 'server'}: {_excerpt(body)}".rstrip(": ")
    if status in (408, 429) or status >= 500:
        raise RetryableError(message, _retry_after(headers, body), status_code=status)
    raise PermanentError(message, status_code=status)


def classify_exception(exc: BaseException, host: str = "", timeout: float | None = None) -> DeliveryError:
    """Map a transport exception to the failure class the outbox acts on."""
    where = host or "server"
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, aiohttp.InvalidURL):
        return PermanentError("invalid URL (check the channel's URL setting)")
    if isinstance(exc, aiohttp.TooManyRedirects):
        return PermanentError(f"too many redirects from {where}")
    if isinstance(exc, TimeoutError):
        after = f" after {timeout:g}s" if timeout else ""
        return RetryableError(f"timed out{after} waiting for {where}")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return RetryableError(f"cannot reach {where}: {type(exc).__name__}: {exc}")
    return PermanentError(f"unexpected error sending to {where}: {type(exc).__name__}: {exc}")


def parse_retry_after(value: str | None, date: str | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds, or an HTTP-date measured from the `Date` header."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when, reference = parsedate_to_datetime(value), parsedate_to_datetime(date or "")
    except (TypeError, ValueError):
        return None  # a date without the server's own Date to measure from cannot be read without a clock
    return max(0.0, (when - reference).total_seconds())


def _retry_after(headers: Mapping[str, str], body: bytes) -> float | None:
    """Retry-After from the header, else from the JSON hints Matrix, Discord and Telegram put in the body."""
    lower = {k.lower(): v for k, v in headers.items()}
    header = parse_retry_after(lower.get("retry-after"), lower.get("date"))
    return header if header is not None else _body_retry_after(_loads(body))


def _body_retry_after(data: Any) -> float | None:
    """`retry_after_ms` (Matrix), `retry_after` seconds (Discord) or `parameters.retry_after` (Telegram)."""
    if not isinstance(data, dict):
        return None
    parameters = data.get("parameters")
    candidates = (
        (data.get("retry_after_ms"), 0.001),
        (data.get("retry_after"), 1.0),
        (parameters.get("retry_after") if isinstance(parameters, dict) else None, 1.0),
    )
    for value, scale in candidates:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return max(0.0, float(value) * scale)
    return None


def _loads(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _excerpt(body: bytes) -> str:
    text = " ".join(body[:_EXCERPT].decode(errors="replace").split())
    return text + ("…" if len(body) > _EXCERPT else "")
