"""Hostile servers and test certificates for probe tests, all on 127.0.0.1 port 0.

Every server is an async context manager yielding its port; on exit it aborts every
connection and cancels every handler, so a test never leaks a hanging task.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import itertools
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def serve(
    handler: Handler, *, ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[int]:
    """Run `handler` for every connection on host:port (0: any); yield the port; tear down."""
    tasks: set[asyncio.Task[None]] = set()
    writers: set[asyncio.StreamWriter] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        writers.add(writer)
        with suppress(ConnectionError, asyncio.CancelledError, ssl.SSLError, OSError):
            await handler(reader, writer)

    server = await asyncio.start_server(tracked, host, port, ssl=ssl_context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in writers:
            writer.transport.abort()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


async def _read_request(reader: asyncio.StreamReader, wait: float = 0.2) -> bytes:
    """Read what the client sent first (an HTTP request head), giving up after `wait`."""
    with suppress(TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), wait)
    return b""


async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept and never answer."""
    await asyncio.Event().wait()


async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the request, then reset the connection (RST, not FIN)."""
    await _read_request(reader)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer the request with bytes that are not HTTP, then close."""
    await _read_request(reader)
    writer.write(b"\x00\xff\x13garbage that is not HTTP at all\r\n\r\n")
    await writer.drain()
    writer.close()


async def endless_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer 200 with a body that never ends, as fast as the client reads."""
    await _read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n")
    chunk = b"x" * 65536
    while True:
        writer.write(chunk)
        await writer.drain()


async def slow_loris(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Start a response, then dribble header bytes forever, one every 20 ms."""
    await _read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\n")
    for byte in itertools.cycle(b"X-Slow: a\r\n"):
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.02)


def respond(status: int = 200, body: bytes = b"ok", headers: dict[str, str] | None = None) -> Handler:
    """A handler answering every request with one fixed HTTP response."""
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(head.encode() + body)
        await writer.drain()
        writer.close()

    return handler


def banner(text: bytes, *, echo: bool = False) -> Handler:
    """A line-protocol server: sends `text` on connect; with `echo`, repeats what it receives."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(text)
        await writer.drain()
        while echo and (line := await reader.readline()):
            writer.write(b"echo: " + line)
            await writer.drain()
        await asyncio.Event().wait()

    return handler


# --- certificates ------------------------------------------------------------------------


@dataclass(frozen=True)
class CertPair:
    """A certificate and its key on disk, and when the certificate expires."""

    cert: Path
    key: Path
    not_after: dt.datetime

    def server_context(self) -> ssl.SSLContext:
        """A server-side TLS context serving this certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


@dataclass(frozen=True)
class CertSet:
    """A private CA and leaf certificates for 127.0.0.1 in several states of health."""

    ca_file: Path
    valid: CertPair  # signed by the CA, for 127.0.0.1 and localhost, 90 days left
    expiring: CertPair  # signed by the CA, 5 days left
    expired: CertPair  # signed by the CA, expired a day ago
    wrong_host: CertPair  # signed by the CA, for other.example only
    self_signed: CertPair  # for 127.0.0.1, signed by itself


def make_certs(directory: Path) -> CertSet:
    """Generate a CA and leaf certificates (EC keys: fast) into `directory`."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tocsin test CA")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key(), now - dt.timedelta(days=1), now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    def leaf(
        name: str, days_before: int, days_after: int, sans: list[x509.GeneralName], self_sign: bool = False
    ) -> CertPair:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tocsin tests"),
                x509.NameAttribute(NameOID.COMMON_NAME, name),
            ]
        )
        not_after = now + dt.timedelta(days=days_after)
        builder = _builder(
            subject,
            subject if self_sign else ca_name,
            key.public_key(),
            now - dt.timedelta(days=days_before),
            not_after,
        )
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(key if self_sign else ca_key, hashes.SHA256())
        return _write(directory, name, cert, key, not_after)

    local: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    return CertSet(
        ca_file=ca_file,
        valid=leaf("valid", 1, 90, local),
        expiring=leaf("expiring", 1, 5, local),
        expired=leaf("expired", 30, -1, local),
        wrong_host=leaf("wrong", 1, 90, [x509.DNSName("other.example")]),
        self_signed=leaf("self", 1, 90, local, self_sign=True),
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, start: dt.datetime, end: dt.datetime
) -> x509.CertificateBuilder:
    """A certificate builder with the fields every test certificate shares."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )


def _write(
    directory: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, not_after: dt.datetime
) -> CertPair:
    """Write a certificate and key as PEM files."""
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_path.write_bytes(key_bytes)
    return CertPair(cert_path, key_path, not_after)
