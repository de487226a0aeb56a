"""Outbox channels of status page subscribers: email through a pool of reused SMTP connections, and webhooks.

Why a pool: an update to 10,000 subscribers is 10,000 emails. A fresh SMTP conversation
(connect, EHLO, STARTTLS, AUTH, QUIT) per email costs more than the message itself, so a
few connections are kept open and reused, each used by one worker thread at a time
(smtplib is blocking and not thread-safe). A connection the server dropped is replaced and
the message tried once more on the new one; everything else is classified for the outbox.
"""

from __future__ import annotations

import asyncio
import hashlib
import quopri
import smtplib
import ssl
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from email.header import Header
from email.utils import parseaddr
from typing import Any

import aiohttp
import orjson

from tocsin.notify.classify import RequestOptions, deliver
from tocsin.notify.email import classify_smtp_error
from tocsin.notify.model import DeliveryResult

_IMPLICIT_TLS_PORT = 465
IDLE_LIMIT = 20.0  # seconds an idle connection is kept; servers drop idle clients after 30 s to 5 min


class SmtpPool:
    """Up to `size` SMTP connections to one smarthost, reused across messages."""

    def __init__(self, settings: Mapping[str, Any], size: int = 8, timeout: float = 30.0) -> None:
        host, _, port = str(settings["smarthost"]).rpartition(":")
        self.host, self.port, self.timeout = host.strip("[]"), int(port), timeout
        self.sender = str(settings["from"])
        self.hello = str(settings.get("hello") or "localhost")
        self.require_tls = bool(settings.get("require_tls", True))
        self.username = settings.get("auth_username")
        self.password = str(settings.get("auth_password") or "")
        self._tls = ssl.create_default_context()
        self._idle: list[tuple[smtplib.SMTP, float]] = []
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="smtp-subscribers")
        self.opened = 0  # connections opened so far (the benchmark reports reuse)

    async def send(self, msg: bytes, to: str) -> None:
        """Send one message to one recipient on a pooled connection (in a pool thread)."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._send_sync, msg, to)

    def close(self) -> None:
        """Close idle connections and stop the threads (messages in flight finish first)."""
        self._executor.shutdown(wait=False)
        with self._lock:
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            _quit(conn)

    def _send_sync(self, msg: bytes, to: str) -> None:
        conn, reused = self._take()
        try:
            self._deliver(conn, msg, to)
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPSenderRefused, ConnectionError) as exc:
            _quit(conn)
            if not reused or getattr(exc, "smtp_code", 421) < 400:
                raise
            conn = self._open()  # the server closed a reused connection: once more on a fresh one
            self._deliver(conn, msg, to)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError):
            self._give_back_after_reset(conn)  # the message was refused; the connection is fine
            raise
        except BaseException:
            _quit(conn)
            raise
        self._give_back(conn)

    def _deliver(self, conn: smtplib.SMTP, msg: bytes, to: str) -> None:
        conn.sendmail(parseaddr(self.sender)[1], [to], msg)

    def _take(self) -> tuple[smtplib.SMTP, bool]:
        now = time.monotonic()
        with self._lock:
            while self._idle:
                conn, since = self._idle.pop()
                if now - since < IDLE_LIMIT:
                    return conn, True
                _quit(conn)
        return self._open(), False

    def _give_back(self, conn: smtplib.SMTP) -> None:
        with self._lock:
            self._idle.append((conn, time.monotonic()))

    def _give_back_after_reset(self, conn: smtplib.SMTP) -> None:
        try:
            conn.rset()
        except (smtplib.SMTPException, OSError):
            _quit(conn)
            return
        self._give_back(conn)

    def _open(self) -> smtplib.SMTP:
        if self.port == _IMPLICIT_TLS_PORT:
            conn: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, local_hostname=self.hello, timeout=self.timeout, context=self._tls
            )
        else:
            conn = smtplib.SMTP(self.host, self.port, local_hostname=self.hello, timeout=self.timeout)
        try:
            conn.ehlo()
            if self.port != _IMPLICIT_TLS_PORT and self.require_tls:
                if not conn.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError("the server does not offer STARTTLS and require_tls is true")
                conn.starttls(context=self._tls)
                conn.ehlo()
            if self.username and conn.has_extn("auth"):
                conn.login(str(self.username), self.password)
        except BaseException:
            _quit(conn)
            raise
        self.opened += 1
        return conn


def _quit(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()


def email_message(payload: Mapping[str, Any], sender: str) -> bytes:
    """The email an outbox payload describes (`to`, `subject`, `text`, `html`, `headers`, `id`, `date`), as bytes.

    Written by hand rather than with `email.message.EmailMessage`: its header registry parses
    every header it is given, which cost ~4 ms a message, most of the time of a 10k fan-out.
    Values come from our own templates and checked addresses; line breaks are removed anyway.
    """
    domain = parseaddr(sender)[1].rpartition("@")[2] or "tocsin"
    headers = {
        "From": sender,
        "To": payload["to"],
        "Subject": _header(payload["subject"]),
        "Date": payload["date"],  # when it was queued (RFC 5322 form), not when a retry sent it
        "Message-ID": f"<{str(payload.get('id', '')).replace(':', '.')}@{domain}>",
        "Auto-Submitted": "auto-generated",
        **payload.get("headers", {}),
        "MIME-Version": "1.0",
    }
    head = "".join(f"{name}: {_one_line(value)}\r\n" for name, value in headers.items())
    if not payload.get("html"):
        return (head + _part("plain", payload["text"] + "\n")).encode()
    boundary = "=_tocsin_" + hashlib.sha256(str(payload.get("id", "")).encode()).hexdigest()[:24]
    parts = "".join(
        f"--{boundary}\r\n{_part(kind, payload[key])}" for kind, key in (("plain", "text"), ("html", "html"))
    )
    body = f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n{parts}--{boundary}--\r\n'
    return (head + body).encode()


def _one_line(value: str) -> str:
    return " ".join(str(value).split())


def _header(value: str) -> str:
    """A header value, RFC 2047-encoded when it is not plain ASCII."""
    return value if value.isascii() else Header(_one_line(value), "utf-8").encode()


def _part(subtype: str, text: str) -> str:
    encoded = quopri.encodestring(text.replace("\r\n", "\n").encode()).decode().replace("\n", "\r\n")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
        f"{encoded}\r\n"
    )


class SubscriberEmailChannel:
    """Sends subscriber emails (payloads built by fanout.py) through an `SmtpPool`."""

    def __init__(self, settings: Mapping[str, Any], size: int = 8) -> None:
        self.settings = dict(settings)
        self.pool = SmtpPool(settings, size)

    async def send_payload(self, payload: dict[str, Any], http: aiohttp.ClientSession) -> DeliveryResult:
        """Send one email once; SMTP failures are classified retryable or permanent."""
        msg = email_message(payload, self.pool.sender)
        started = time.perf_counter()
        try:
            await self.pool.send(msg, payload["to"])
        except Exception as exc:
            raise classify_smtp_error(exc, f"{self.pool.host}:{self.pool.port}") from exc
        return DeliveryResult(250, round((time.perf_counter() - started) * 1000, 3), "accepted for 1 recipient")

    def close(self) -> None:
        """Close the pool's connections."""
        self.pool.close()


class SubscriberWebhookChannel:
    """POSTs a subscriber's JSON (Statuspage's webhook shape) to the URL they gave."""

    def __init__(self, timeout: float = 10.0) -> None:
        self._options = RequestOptions(timeout=timeout, follow_redirects=False)

    async def send_payload(self, payload: dict[str, Any], http: aiohttp.ClientSession) -> DeliveryResult:
        """Send the body once; HTTP failures are classified by the shared `deliver()`."""
        headers = {"Content-Type": "application/json", "Idempotency-Key": str(payload.get("id", ""))}
        body = orjson.dumps(payload["body"])
        reply = await deliver(http, "POST", payload["url"], body=body, headers=headers, options=self._options)
        return reply.result()
