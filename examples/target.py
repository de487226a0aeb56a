"""A small local target for the example config: HTTP, a TCP PING/PONG, DNS, and a heartbeat.

Started by `make run` next to tocsin so the example works offline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random

import dns.message
import dns.rcode
import dns.rrset
from aiohttp import ClientSession, ClientTimeout, web

HEARTBEAT_URL = "http://127.0.0.1:8080/ping/example-backup-heartbeat-token"


async def health(_: web.Request) -> web.Response:
    """Healthy, with a little latency jitter (sometimes slow enough to degrade)."""
    await asyncio.sleep(random.choice([0.005, 0.01, 0.02, 0.03, 0.2]))
    return web.json_response({"status": "UP", "version": "1.4.2"})


async def flaky(_: web.Request) -> web.Response:
    """Fails one request in five."""
    if random.random() < 0.2:
        return web.json_response({"status": "DOWN"}, status=503)
    return web.json_response({"status": "UP"})


async def tcp_pong(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers PING with +PONG, like a Redis server."""
    with contextlib.suppress(Exception):
        line = await asyncio.wait_for(reader.readline(), 2)
        writer.write(b"+PONG\r\n" if line.strip() == b"PING" else b"-ERR unknown command\r\n")
        await writer.drain()
    writer.close()


class Dns(asyncio.DatagramProtocol):
    """Answers A queries for *.example.test with 127.0.0.1; everything else NXDOMAIN."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        answer = dns.message.make_response(query)
        question = query.question[0]
        if str(question.name).endswith("example.test.") and question.rdtype == 1:
            answer.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", "127.0.0.1"))
        else:
            answer.set_rcode(dns.rcode.NXDOMAIN)
        self.transport.sendto(answer.to_wire(), addr)  # type: ignore[attr-defined]


async def heartbeat() -> None:
    """Pings the example heartbeat monitor every 20 s, as a cron job would."""
    async with ClientSession(timeout=ClientTimeout(total=5)) as session:
        while True:
            with contextlib.suppress(Exception):
                async with session.get(HEARTBEAT_URL) as resp:
                    await resp.read()
            await asyncio.sleep(20)


async def main(port: int) -> None:
    """Serve until killed."""
    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/flaky", flaky)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.start_server(tcp_pong, "127.0.0.1", port - 1)
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(Dns, local_addr=("127.0.0.1", 8053))
    print(f"example target on http://127.0.0.1:{port}, tcp :{port - 1}, dns udp :8053", flush=True)
    await heartbeat()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8099)
    asyncio.run(main(parser.parse_args().port))
