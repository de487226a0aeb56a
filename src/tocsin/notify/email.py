"""Email over SMTP: multipart text + HTML, STARTTLS (or implicit TLS on port 465) and AUTH.

smtplib runs in a worker thread: a send is one short conversation, and the standard
library's client is the most widely exercised one (no extra dependency). Every socket
operation is bounded by the channel's `timeout`. As in Alertmanager, `require_tls: true`
(the default) insists on STARTTLS and `require_tls: false` never starts it.
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
import time
from datetime import UTC
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, getaddresses, parseaddr
from typing import TYPE_CHECKING

import aiohttp

from tocsin.notify.model import (
    SKIPPED,
    DeliveryError,
    DeliveryResult,
    Notification,
    PermanentError,
    RetryableError,
    for_channel,
)
from tocsin.notify.render import MessageTemplate

if TYPE_CHECKING:
    from tocsin.notify.config import EmailConfig

__all__ = ["EmailChannel", "classify_smtp_error"]

_IMPLICIT_TLS_PORT = 465
_DOCUMENT = '<!DOCTYPE html>\n<html><body style="font-family: sans-serif; font-size: 14px">\n{}\n</body></html>'


def _one_line(text: str) -> str:
    return " ".join(text.split())


class EmailChannel:
    """Sends one email per notification to every address in `to`."""

    def __init__(self, config: EmailConfig, key: str = "email_configs[0]") -> None:
        self.config, self.key = config, key
        headers = {name.lower(): (name, value) for name, value in config.headers.items()}
        subject = headers.pop("subject", ("Subject", None))[1]
        self.subject = MessageTemplate("title.txt.j2", subject)
        self.headers = {name: MessageTemplate("title.txt.j2", value) for name, value in headers.values()}
        self.html = None if config.html == "" else MessageTemplate("html.html.j2", config.html)
        self.text = None if config.text == "" else MessageTemplate("text.txt.j2", config.text)
        if self.html is None and self.text is None:
            raise ValueError("html and text are both empty: an email needs at least one of them")
        self.recipients = [addr for _, addr in getaddresses([config.to]) if addr]
        if not self.recipients:
            raise ValueError(f"to: no email address in {config.to!r}")
        self._tls = config.tls_config.context() if config.tls_config else ssl.create_default_context()

    def message(self, n: Notification) -> EmailMessage:
        """The email for `n`; Message-ID comes from the idempotency key, Date from the notification."""
        subject = _one_line(self.subject.render(n))
        msg = EmailMessage(policy=SMTP_POLICY)
        msg["Subject"] = subject
        msg["From"] = self.config.from_
        msg["To"] = self.config.to
        msg["Date"] = format_datetime(n.created_at if n.created_at.tzinfo else n.created_at.replace(tzinfo=UTC))
        msg["Message-ID"] = self._message_id(n.idempotency_key)
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: keeps vacation responders quiet
        for name, template in self.headers.items():
            msg[name] = _one_line(template.render(n))
        self._set_body(msg, n, subject)
        return msg

    def _set_body(self, msg: EmailMessage, n: Notification, subject: str) -> None:
        if self.text is not None:
            msg.set_content(self.text.render(n) + "\n")
        if self.html is not None:
            html = self.html.render(n, title=subject)
            html = html if self.html.overridden else _DOCUMENT.format(html)
            (msg.add_alternative if self.text is not None else msg.set_content)(html, subtype="html")

    def _message_id(self, key: str) -> str:
        domain = parseaddr(self.config.from_)[1].rpartition("@")[2] or "tocsin"
        return f"<{re.sub(r'[^A-Za-z0-9._-]', '-', key)}@{domain}>"

    async def send(self, n: Notification, http: aiohttp.ClientSession) -> DeliveryResult:
        """Send `n` once over SMTP (`http` is unused: email has its own transport)."""
        prepared = for_channel(n, self.config.send_resolved)
        if prepared is None:
            return SKIPPED
        msg = self.message(prepared)
        started = time.perf_counter()
        try:
            refused = await asyncio.to_thread(self._send_sync, msg)
        except Exception as exc:
            raise classify_smtp_error(exc, self.config.smarthost) from exc
        latency = (time.perf_counter() - started) * 1000
        detail = f"accepted for {len(self.recipients) - len(refused)} recipient(s)"
        if refused:
            detail += f"; refused: {', '.join(sorted(refused))}"
        return DeliveryResult(250, round(latency, 3), detail)

    def _send_sync(self, msg: EmailMessage) -> dict[str, tuple[int, bytes]]:
        """One SMTP conversation (runs in a worker thread)."""
        host, port = self.config.host_port()
        smtp = self._connect(host, port)
        with smtp:
            if port != _IMPLICIT_TLS_PORT and self.config.require_tls:
                self._starttls(smtp)
            self._login(smtp)
            sender = parseaddr(self.config.from_)[1]
            return smtp.send_message(msg, from_addr=sender, to_addrs=self.recipients)

    def _connect(self, host: str, port: int) -> smtplib.SMTP:
        timeout, hello = self.config.timeout, self.config.hello
        if port == _IMPLICIT_TLS_PORT:
            return smtplib.SMTP_SSL(host, port, local_hostname=hello, timeout=timeout, context=self._tls)
        return smtplib.SMTP(host, port, local_hostname=hello, timeout=timeout)

    def _starttls(self, smtp: smtplib.SMTP) -> None:
        smtp.ehlo()
        if not smtp.has_extn("starttls"):
            raise PermanentError(f"{self.config.smarthost} does not offer STARTTLS and require_tls is true")
        smtp.starttls(context=self._tls)
        smtp.ehlo()

    def _login(self, smtp: smtplib.SMTP) -> None:
        """AUTH when configured and offered (Alertmanager also skips AUTH a server does not advertise)."""
        smtp.ehlo_or_helo_if_needed()
        if self.config.auth_username and smtp.has_extn("auth"):
            password = self.config.auth_password.get_secret_value() if self.config.auth_password else ""
            smtp.login(self.config.auth_username, password)


def classify_smtp_error(exc: BaseException, where: str) -> DeliveryError:
    """4xx SMTP replies, disconnects, timeouts and socket errors are retryable; 5xx replies and the rest are not."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        message = f"{where} refused every recipient: " + ", ".join(f"{r} ({c})" for r, (c, _) in exc.recipients.items())
        if any(400 <= code < 500 for code in codes):
            return RetryableError(message, status_code=min(codes))
        return PermanentError(message, status_code=min(codes, default=None))
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        message = f"SMTP {exc.smtp_code} from {where}: {_one_line(text)}"
        cls = RetryableError if 400 <= exc.smtp_code < 500 else PermanentError
        return cls(message, status_code=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPServerDisconnected | TimeoutError | OSError):
        return RetryableError(f"cannot talk to {where}: {type(exc).__name__}: {exc}")
    return PermanentError(f"email to {where} failed: {type(exc).__name__}: {exc}")
