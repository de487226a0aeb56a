"""What probes share across checks: HTTP sessions, TLS contexts and the system's DNS servers."""

from __future__ import annotations

import socket
import ssl
from types import TracebackType

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.connector import Connection

from tocsin import __version__
from tocsin.checks.probes.tls import peer_facts

_FAMILIES = {"any": socket.AF_UNSPEC, "4": socket.AF_INET, "6": socket.AF_INET6}
USER_AGENT = f"tocsin/{__version__}"


class PeerResponse(aiohttp.ClientResponse):
    """A response that remembers its connection's peer address and certificate."""

    peer_ip: str | None = None
    peer_certificate: bytes | None = None

    async def start(self, connection: Connection) -> aiohttp.ClientResponse:
        """Note the peer before reading: a small body releases the connection at once."""
        if connection.transport is not None:
            self.peer_ip, self.peer_certificate = peer_facts(connection.transport)
        return await super().start(connection)


class ProbeContext:
    """Owns shared aiohttp sessions and TLS contexts for every probe; closes them on exit."""

    def __init__(
        self,
        *,
        ca_file: str | None = None,
        resolver: AbstractResolver | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        """Set extra trust anchors for HTTPS, an aiohttp resolver (tests), and the User-Agent."""
        self._ca_file = ca_file
        self._resolver = resolver
        self._user_agent = user_agent
        self._sessions: dict[tuple[str, bool], aiohttp.ClientSession] = {}
        self._ssl: dict[tuple[bool, str | None], ssl.SSLContext] = {}
        self._nameservers: list[str] | None = None

    async def __aenter__(self) -> ProbeContext:
        """Start using the context; sessions are created lazily on first use."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close every session this context created."""
        await self.close()

    async def close(self) -> None:
        """Close every session this context created."""
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()

    def session(self, ip_version: str, verify: bool) -> aiohttp.ClientSession:
        """The shared session for an address family ("any", "4", "6") and TLS-verify choice."""
        key = (ip_version, verify)
        session = self._sessions.get(key)
        if session is None or session.closed:
            session = self._sessions[key] = self._new_session(ip_version, verify)
        return session

    def ssl_context(self, verify: bool, ca_file: str | None = None) -> ssl.SSLContext:
        """A cached client TLS context: system CAs plus `ca_file`, or no verification at all."""
        key = (verify, ca_file)
        context = self._ssl.get(key)
        if context is None:
            context = self._ssl[key] = _make_ssl_context(verify, ca_file)
        return context

    def nameservers(self) -> list[str]:
        """The system's DNS servers from /etc/resolv.conf, read once."""
        if self._nameservers is None:
            import dns.resolver

            self._nameservers = [str(ns) for ns in dns.resolver.Resolver().nameservers]
        return self._nameservers

    def _new_session(self, ip_version: str, verify: bool) -> aiohttp.ClientSession:
        """A session whose every request opens a fresh connection, like a first-time visitor."""
        # force_close: each check must pay for DNS/TCP/TLS like a real user, and a broken
        # keep-alive connection from the last check must never decide this one.
        connector = aiohttp.TCPConnector(
            family=_FAMILIES[ip_version],
            ssl=self.ssl_context(True, self._ca_file) if verify else False,
            force_close=True,
            limit=0,
            resolver=self._resolver,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # checks must not carry cookies between runs
            headers={"User-Agent": self._user_agent},
            trust_env=False,
            response_class=PeerResponse,
        )


def _make_ssl_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    """Build a client TLS context (system trust store plus `ca_file`), or an unverified one."""
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context
