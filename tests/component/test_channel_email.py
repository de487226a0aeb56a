"""The email channel against a real aiosmtpd server in the test's loop: STARTTLS, AUTH, multipart, failures."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.component.channel_kit import notification, resolved_notification
from tocsin.notify import build_channels
from tocsin.notify.model import Channel, DeliveryError, PermanentError, RetryableError


@dataclass
class Received:
    """One accepted message and how it arrived."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    authenticated: bool
    tls: bool


@dataclass
class Mailbox:
    """An aiosmtpd handler that stores messages and can refuse on demand."""

    port: int = 0
    messages: list[Received] = field(default_factory=list)
    rcpt_reply: str | None = None
    data_reply: str = "250 OK: queued"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        message = message_from_bytes(content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        sender = envelope.mail_from or ""
        received = Received(
            sender, list(envelope.rcpt_tos), message, bool(session.authenticated), session.ssl is not None
        )
        self.messages.append(received)
        return self.data_reply


def _authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"alerts", b"hunter2")
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("smtp-cert")
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@contextlib.asynccontextmanager
async def smtp_server(**options: Any) -> AsyncIterator[Mailbox]:
    """aiosmtpd on 127.0.0.1 at a free port, served by this test's event loop."""
    mailbox = Mailbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(mailbox, hostname="mx.test", **options), "127.0.0.1", 0)
    mailbox.port = server.sockets[0].getsockname()[1]
    try:
        yield mailbox
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def tls_server(cert: tuple[Path, Path]) -> AsyncIterator[Mailbox]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert)
    async with smtp_server(
        tls_context=context, require_starttls=True, auth_required=True, authenticator=_authenticate
    ) as mailbox:
        yield mailbox


@pytest.fixture
async def plain_server() -> AsyncIterator[Mailbox]:
    async with smtp_server() as mailbox:
        yield mailbox


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def email(port: int, **settings: Any) -> Channel:
    config = {
        "to": "oncall@example.com, Bob <bob@example.com>",
        "from": "tocsin <alerts@ops.example.com>",
        "smarthost": f"127.0.0.1:{port}",
        "timeout": "2s",
        **settings,
    }
    return build_channels({"name": "core", "email_configs": [config]})[0]


def secure(port: int, cert: tuple[Path, Path], **settings: Any) -> Channel:
    auth = {"auth_username": "alerts", "auth_password": "hunter2", "tls_config": {"ca_file": str(cert[0])}}
    return email(port, **(auth | settings))


async def test_starttls_auth_multipart(
    tls_server: Mailbox, cert: tuple[Path, Path], http: aiohttp.ClientSession
) -> None:
    result = await secure(tls_server.port, cert).send(notification(), http)
    [received] = tls_server.messages
    assert received.tls
    assert received.authenticated
    assert received.mail_from == "alerts@ops.example.com"
    assert received.rcpt_tos == ["oncall@example.com", "bob@example.com"]
    msg = received.message
    assert msg["Subject"] == "[FIRING:1] HighLatency (api)"
    assert msg["From"] == "tocsin <alerts@ops.example.com>"
    assert msg["Message-ID"] == "<notif-0042@ops.example.com>"
    assert msg["Date"] == "Thu, 01 Jan 2026 12:05:00 +0000"  # the notification's instant, not the clock
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"
    text, html = (part.get_content() for part in msg.iter_parts())
    assert text.startswith("1 firing, 0 resolved, firing since 2026-01-01 10:00:00 UTC.")  # send_resolved: false
    assert "<strong>p99 latency above 500ms</strong>" in html
    assert html.startswith("<!DOCTYPE html>")
    assert (result.status_code, result.detail) == (250, "accepted for 2 recipient(s)")


async def test_wrong_password_is_permanent(
    tls_server: Mailbox, cert: tuple[Path, Path], http: aiohttp.ClientSession
) -> None:
    channel = secure(tls_server.port, cert, auth_password="wrong")
    with pytest.raises(PermanentError) as info:
        await channel.send(notification(), http)
    assert info.value.status_code == 535


async def test_untrusted_certificate_is_refused(tls_server: Mailbox, http: aiohttp.ClientSession) -> None:
    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        await email(tls_server.port, auth_username="alerts", auth_password="hunter2").send(notification(), http)
    assert not tls_server.messages


async def test_require_tls_without_starttls_is_permanent(plain_server: Mailbox, http: aiohttp.ClientSession) -> None:
    with pytest.raises(PermanentError, match="does not offer STARTTLS"):
        await email(plain_server.port).send(notification(), http)


async def test_plain_smtp_when_tls_not_required(plain_server: Mailbox, http: aiohttp.ClientSession) -> None:
    await email(plain_server.port, require_tls=False, html="").send(notification(), http)
    [received] = plain_server.messages
    assert not received.tls
    assert received.message.get_content_type() == "text/plain"


async def test_custom_subject_header_and_html(plain_server: Mailbox, http: aiohttp.ClientSession) -> None:
    channel = email(
        plain_server.port,
        require_tls=False,
        text="",
        html="<p>{{ common_labels.service }}</p>",
        headers={"subject": "{{ headline }}\nBcc: injected@example.com", "X-Team": "{{ receiver }}"},
    )
    await channel.send(notification(common_labels={"service": "<api>"}), http)
    msg = plain_server.messages[0].message
    assert msg["Subject"] == "HighLatency (api) Bcc: injected@example.com"  # folded onto one line, no new header
    assert msg["Bcc"] is None
    assert msg["X-Team"] == "core"
    assert (msg.get_content_type(), msg.get_content().strip()) == ("text/html", "<p>&lt;api&gt;</p>")


async def test_resolved_is_not_sent_by_default(plain_server: Mailbox, http: aiohttp.ClientSession) -> None:
    result = await email(plain_server.port, require_tls=False).send(resolved_notification(), http)
    assert result.status_code == 0
    assert not plain_server.messages


@pytest.mark.parametrize(
    ("where", "reply", "error", "code"),
    [
        ("rcpt", "450 mailbox busy", RetryableError, 450),
        ("rcpt", "550 no such user", PermanentError, 550),
        ("data", "451 local error, try later", RetryableError, 451),
        ("data", "554 rejected as spam", PermanentError, 554),
    ],
)
async def test_smtp_replies_are_classified(
    plain_server: Mailbox,
    http: aiohttp.ClientSession,
    where: str,
    reply: str,
    error: type[DeliveryError],
    code: int,
) -> None:
    if where == "rcpt":
        plain_server.rcpt_reply = reply
    else:
        plain_server.data_reply = reply
    with pytest.raises(DeliveryError) as info:
        await email(plain_server.port, require_tls=False).send(notification(), http)
    assert type(info.value) is error
    assert info.value.status_code == code


async def test_refused_connection_is_retryable(http: aiohttp.ClientSession) -> None:
    async with smtp_server() as mailbox:
        port = mailbox.port
    with pytest.raises(RetryableError):
        await email(port).send(notification(), http)


async def test_silent_server_times_out_retryable(http: aiohttp.ClientSession) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never sends the 220 greeting
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(RetryableError):
            await email(port, timeout="300ms").send(notification(), http)
    finally:
        server.close()
        await server.wait_closed()
