"""The dns probe against a tiny local DNS server (UDP and TCP) answering fixed records."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, cast

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from tests.component.hostile import serve
from tocsin.checks.judge import judge
from tocsin.checks.probes import ProbeContext, run_probe
from tocsin.checks.result import Outcome, Reason
from tocsin.config.models import DnsMonitor

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SLACK = 0.3

RECORDS: dict[tuple[str, str], list[str]] = {
    ("www.example.test.", "A"): ["192.0.2.10", "192.0.2.11"],
    ("www.example.test.", "AAAA"): ["2001:db8:0:0::10"],
    ("alias.example.test.", "CNAME"): ["www.example.test."],
    ("example.test.", "MX"): ["10 mail.example.test.", "20 backup.example.test."],
    ("example.test.", "TXT"): ['"v=spf1 -all"', '"part one " "part two"'],
    ("example.test.", "NS"): ["ns1.example.test."],
    ("_sip._tcp.example.test.", "SRV"): ["10 60 5060 sip.example.test."],
}


class FakeDns:
    """Answers queries from RECORDS; `mode` makes it misbehave: "hang" or "garbage"."""

    def __init__(self) -> None:
        self.mode = "normal"

    def answer(self, wire: bytes) -> bytes | None:
        """The response to one query, in wire format (None to stay silent)."""
        if self.mode == "hang":
            return None
        if self.mode == "garbage":
            return wire[:2] + b"\x81\x80garbage"
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        question = query.question[0]
        key = (question.name.to_text(), dns.rdatatype.to_text(question.rdtype))
        if not any(name == key[0] for name, _ in RECORDS):
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif key in RECORDS:
            rrset = dns.rrset.from_text_list(question.name, 60, dns.rdataclass.IN, question.rdtype, RECORDS[key])
            response.answer.append(rrset)
        return bytes(response.to_wire())


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: FakeDns) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        reply = self.server.answer(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


@contextlib.asynccontextmanager
async def fake_dns() -> AsyncIterator[tuple[FakeDns, int]]:
    """Serve FakeDns over UDP and TCP on the same 127.0.0.1 port."""
    server = FakeDns()

    async def tcp_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                (size,) = struct.unpack("!H", await reader.readexactly(2))
                reply = server.answer(await reader.readexactly(size))
                if reply is None:
                    await asyncio.Event().wait()
                    return
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()

    loop = asyncio.get_running_loop()
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(20):  # the TCP port may be taken even when the UDP one was free
            udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(server), local_addr=("127.0.0.1", 0))
            port = udp.get_extra_info("sockname")[1]
            try:
                await stack.enter_async_context(serve(tcp_handler, port=port))
            except OSError:
                udp.close()
                continue
            stack.callback(udp.close)
            break
        else:
            pytest.fail("no free port for both UDP and TCP")
        yield server, port


def monitor(port: int, query: str, record_type: str = "A", **options: Any) -> DnsMonitor:
    """A dns monitor asking the fake server."""
    options.setdefault("timeout", "500ms")
    return DnsMonitor(
        name="t", kind="dns", query=query, record_type=record_type, resolver=f"127.0.0.1:{port}", **options
    )


@pytest.fixture
async def ctx() -> AsyncIterator[ProbeContext]:
    async with ProbeContext() as context:
        yield context


@pytest.fixture
async def server() -> AsyncIterator[tuple[FakeDns, int]]:
    async with fake_dns() as running:
        yield running


@pytest.mark.parametrize(
    ("query", "record_type", "answers"),
    [
        # addresses as addresses, every record of the set
        ("www.example.test", "A", ["192.0.2.10", "192.0.2.11"]),
        # IPv6 in its canonical compressed form
        ("www.example.test", "AAAA", ["2001:db8::10"]),
        # names lose their final dot
        ("alias.example.test", "CNAME", ["www.example.test"]),
        ("example.test", "NS", ["ns1.example.test"]),
        # MX is "preference exchange"
        ("example.test", "MX", ["10 mail.example.test", "20 backup.example.test"]),
        # TXT strings of one record are joined without separators
        ("example.test", "TXT", ["v=spf1 -all", "part one part two"]),
        # SRV is "priority weight port target"
        ("_sip._tcp.example.test", "SRV", ["10 60 5060 sip.example.test"]),
    ],
)
@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_answers_are_normalised(
    ctx: ProbeContext, server: tuple[FakeDns, int], query: str, record_type: str, answers: list[str], transport: str
) -> None:
    obs = await run_probe(monitor(server[1], query, record_type, transport=transport), ctx, NOW)
    assert obs.error is None, obs.message
    assert obs.dns_rcode == "NOERROR"
    assert sorted(obs.answers) == sorted(answers)
    assert obs.body == "\n".join(obs.answers).encode()


async def test_nxdomain_is_an_rcode_not_an_error(ctx: ProbeContext, server: tuple[FakeDns, int]) -> None:
    spec = monitor(server[1], "nope.example.test")
    obs = await run_probe(spec, ctx, NOW)
    assert obs.error is None
    assert obs.dns_rcode == "NXDOMAIN"
    result = judge(spec, obs, [], NOW)  # the default condition wants NOERROR
    assert result.outcome is Outcome.DOWN
    assert result.reason is Reason.CONDITION
    assert result.failures[0].actual == "NXDOMAIN"


async def test_expected_answers_are_judged(ctx: ProbeContext, server: tuple[FakeDns, int]) -> None:
    good = monitor(server[1], "www.example.test", expected=["192.0.2.11"])
    bad = monitor(server[1], "www.example.test", expected=["192.0.2.99"])
    assert judge(good, await run_probe(good, ctx, NOW), [], NOW).outcome is Outcome.UP
    result = judge(bad, await run_probe(bad, ctx, NOW), [], NOW)
    assert result.reason is Reason.CONDITION
    assert result.failures[0].actual == "192.0.2.10, 192.0.2.11"


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("hang", Reason.TIMEOUT),  # the server never answers
        ("garbage", Reason.PROTOCOL),  # the answer is not a DNS message
    ],
)
@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_misbehaving_server(
    ctx: ProbeContext, server: tuple[FakeDns, int], mode: str, reason: Reason, transport: str
) -> None:
    server[0].mode = mode
    started = time.monotonic()
    obs = await run_probe(monitor(server[1], "www.example.test", transport=transport), ctx, NOW)
    elapsed = time.monotonic() - started
    assert obs.error is reason, obs.message
    assert elapsed < 0.5 + SLACK


async def test_tcp_refused_is_connect(ctx: ProbeContext) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    obs = await run_probe(monitor(port, "www.example.test", transport="tcp"), ctx, NOW)
    assert obs.error is Reason.CONNECT, obs.message
