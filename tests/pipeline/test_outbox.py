"""The outbox: at-least-once delivery, backoff with jitter, dead letters, retry, idempotency keys."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

import orjson

from tests.pipeline.conftest import T0, alert, alerting, close_timeline, make_timeline
from tocsin.clock import FakeClock
from tocsin.notify.outbox import RetryPolicy
from tocsin.store.alerting import OutboxRow
from tocsin.testing import WebhookSink


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=10, base=timedelta(seconds=5), cap=timedelta(minutes=10))
    rng = random.Random(7)
    waits = [policy.delay(n, None, rng).total_seconds() for n in range(1, 10)]
    for n, wait in enumerate(waits, start=1):
        ceiling = min(600.0, 5.0 * 2 ** (n - 1))
        assert ceiling * 0.5 <= wait <= ceiling  # jitter stays within [50%, 100%] of the backoff
    assert policy.delay(1, 90.0, rng).total_seconds() == 90.0  # Retry-After wins when longer


async def test_retries_until_delivered_with_the_same_idempotency_key(db_url: str, sink: WebhookSink) -> None:
    clock = FakeClock(T0)
    tl = await make_timeline(db_url, alerting(sink.url), sink, clock)
    try:
        sink.status = 503
        await tl.push(alert("Flaky"))
        await tl.run_until(30)
        assert len(sink.requests) == 1  # first attempt failed
        await tl.run_until(31)
        for _ in range(40):  # keep moving time; backoff grows 5 s, 10 s, 20 s ...
            await clock.advance(5)
            await tl.outbox.deliver_due()
            if len(sink.requests) >= 3:
                break
        sink.status = 200
        for _ in range(40):
            await clock.advance(5)
            await tl.outbox.deliver_due()
        keys = {r["headers"]["Idempotency-Key"] for r in sink.requests}
        assert len(keys) == 1  # every retry of one notification carries the same key
        rows = await tl.engine._store.deliveries()
        assert [r.status for r in rows] == ["delivered"]
        attempts = await tl.engine._store.attempts([rows[0].id])
        assert [a.outcome for a in attempts][-1] == "delivered"
        assert all(a.outcome == "retryable" and a.status_code == 503 for a in attempts[:-1])
    finally:
        await close_timeline(tl)


async def test_permanent_failure_is_dead_at_once_and_can_be_retried(db_url: str, sink: WebhookSink) -> None:
    clock = FakeClock(T0)
    tl = await make_timeline(db_url, alerting(sink.url), sink, clock)
    try:
        sink.status = 400
        await tl.push(alert("Rejected"))
        await tl.run_until(30)
        [row] = await tl.engine._store.deliveries()
        assert row.status == "dead"
        assert row.last_error
        assert "400" in row.last_error
        sink.status = 200
        assert await tl.engine._store.retry(row.id, clock.now())
        await tl.outbox.deliver_due()
        [row] = await tl.engine._store.deliveries()
        assert row.status == "delivered"
        assert orjson.loads(sink.requests[-1]["body"])["alerts"][0]["labels"]["alertname"] == "Rejected"
        assert not await tl.engine._store.retry(row.id, clock.now())  # only dead rows can be retried
    finally:
        await close_timeline(tl)


async def test_gives_up_after_max_attempts(db_url: str, sink: WebhookSink) -> None:
    clock = FakeClock(T0)
    tl = await make_timeline(db_url, alerting(sink.url), sink, clock)
    tl.outbox.policy = RetryPolicy(max_attempts=3, base=timedelta(seconds=1), cap=timedelta(seconds=2))
    try:
        sink.status = 500
        await tl.push(alert("Down"))
        await tl.run_until(30)
        for _ in range(10):
            await clock.advance(2)
            await tl.outbox.deliver_due()
        [row] = await tl.engine._store.deliveries()
        assert (row.status, row.attempts) == ("dead", 3)
        assert len(sink.requests) == 3
    finally:
        await close_timeline(tl)


async def test_a_flushed_notification_is_handed_over_claimed_and_redelivered_after_a_crash(
    db_url: str, sink: WebhookSink
) -> None:
    clock = FakeClock(T0)
    first = await make_timeline(db_url, alerting(sink.url, group_wait="0s"), sink, clock)
    await first.push(alert("Handed"))
    await first.engine.tick()  # enqueued: the row is committed, claimed by this process, handed to its worker
    [row] = await first.engine._store.deliveries()
    assert row.status == "pending"
    assert await first.engine._store.claim(clock.now(), 30_000, 10) == []  # nobody else may take it
    await close_timeline(first)  # "crash" before the worker sent it
    assert sink.requests == []

    second = await make_timeline(db_url, alerting(sink.url, group_wait="0s"), sink, clock)
    try:
        assert await second.outbox.deliver_due() == 0  # still claimed by the crashed process
        await clock.advance(31)  # the claim runs out
        assert await second.outbox.deliver_due() == 1
        [request] = sink.requests
        assert orjson.loads(request["body"])["alerts"][0]["labels"]["alertname"] == "Handed"
        [row] = await second.engine._store.deliveries()
        assert (row.status, row.attempts) == ("delivered", 1)
        await second.engine.tick()  # the restarted engine does not notify the group again
        assert await second.outbox.deliver_due() == 0
    finally:
        await close_timeline(second)


async def test_the_worker_delivers_handed_rows_without_claiming(db_url: str, sink: WebhookSink) -> None:
    clock = FakeClock(T0)
    tl = await make_timeline(db_url, alerting(sink.url, group_wait="0s"), sink, clock)
    claims = 0
    claim = tl.engine._store.claim

    async def counted(*args: Any) -> list[OutboxRow]:
        nonlocal claims
        claims += 1
        return await claim(*args)

    tl.outbox._store.claim = counted  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(tl.outbox.run(poll=3600))
    try:
        await asyncio.sleep(0.05)
        before = claims  # the worker looks at the table once when it starts
        await tl.push(alert("Direct"))
        await tl.engine.tick()
        for _ in range(200):
            if sink.requests:
                break
            await asyncio.sleep(0.01)
        assert len(sink.requests) == 1
        assert claims == before
    finally:
        task.cancel()
        await close_timeline(tl)


async def test_a_handed_row_whose_claim_the_clock_passed_is_sent_once(db_url: str, sink: WebhookSink) -> None:
    """A handed row is inserted claimed for 30 s; when the clock is past that claim before the worker sends it
    (a clock jump, as in test_alertmanager_api's resolve timeout), a claim of the table must not send it too."""
    clock = FakeClock(T0)
    tl = await make_timeline(db_url, alerting(sink.url, group_wait="0s"), sink, clock)
    try:
        await tl.push(alert("Once"))
        await tl.engine.tick()  # flushed: the row is inserted claimed for 30 s and handed to the worker
        await clock.advance(60)
        await tl.outbox._deliver_claimed()  # the poll after the jump: the table offers the row again
        await tl.outbox.deliver_due()
        assert len(sink.requests) == 1
        rows = await tl.engine._store.deliveries()
        assert [(r.status, r.attempts) for r in rows] == [("delivered", 1)]
    finally:
        await close_timeline(tl)


async def test_time_passing_during_a_claim_does_not_push_the_next_poll_out(db_url: str, sink: WebhookSink) -> None:
    """A crashed node's rows are claimed at the poll after their lease; a clock jump while the worker was
    claiming (nothing due yet) must not make it wait a whole poll after the jump."""
    clock = FakeClock(T0)
    tl = await make_timeline(db_url, alerting(sink.url), sink, clock)
    claims: list[float] = []
    claiming = asyncio.Event()
    release = asyncio.Event()
    claim = tl.engine._store.claim

    async def slow(*args: Any) -> list[OutboxRow]:
        claims.append(clock.timestamp())
        if len(claims) == 1:  # the first look: time jumps while it is under way
            claiming.set()
            await release.wait()
        return await claim(*args)

    tl.outbox._store.claim = slow  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(tl.outbox.run(poll=1.0))
    try:
        await asyncio.wait_for(claiming.wait(), 5)
        await clock.advance(60)  # nobody is asleep on the clock: the worker is in its claim
        release.set()
        for _ in range(200):  # the next look comes at once, with no further clock movement
            if len(claims) >= 2:
                break
            await asyncio.sleep(0.01)
        assert len(claims) >= 2
        assert claims[1] >= claims[0] + 60
    finally:
        task.cancel()
        await close_timeline(tl)
