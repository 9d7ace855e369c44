"""Live calls: what the voice worker tells the dashboard while calls are under way.

The contract (DESIGN.md section 4):

* One Redis record per active call, keyed by the LiveKit room name, holding
  the call's whole state as JSON with a TTL of `TTL_SECONDS`. The writer
  refreshes it (`LiveCall.heartbeat`, every `HEARTBEAT_SECONDS`), so a call
  whose worker died leaves the panel by itself within a minute.
* An index of active calls: a sorted set whose scores are the records'
  expiry times. Listing costs O(active calls) and never SCANs; expired
  members are pruned on the way.
* Every change is also sent to the channel-layer group `GROUP` as a small
  typed event: ``call.updated`` (with the call), ``call.ended`` (with the
  room), and ``appointment.changed`` (sent after commit by any interface
  that books, moves or cancels; see `on_appointment_changed`).

Writers use `LiveCall` (async, one per call):

    call = await LiveCall.start(room, caller_phone="+923001234567")
    await call.update(stage=Stage.CHOOSING_SLOT, provider="Dr Khan", requested_slot=dt)
    await call.end()

A writer never fails because Redis is away: it keeps the state in memory,
logs a warning, and writes the whole record again on the next update or
heartbeat, so the panel catches up when Redis returns. Every write and
event of a handle runs under its `RedisGuard` (voiceagent.context), shared
with the call's context store: a frozen Redis costs a caller's turn at most
one short wait.

`update()` returns whether the change was stored and announced, and
`LiveCall.sent` counts the `call.updated` events a handle got out; callers
may ignore both (the benchmark uses them to count lost events).

Readers: `active_calls()` (sync, for page renders), `aactive_calls()`, and
`active_call_count()` (the navigation badge).
Each call is `CallState.as_dict()`: the fields above plus labels computed by
the writer for the panel (`stage_label`, `caller_phone_display` in the
clinic's national format, `requested_slot_label` in the clinic's time zone),
so the browser shows what the server would render without a lookup.

The consumer (voiceagent.consumers) sends a snapshot on connect and again
every 15 seconds, so a call that expired without `call.ended` leaves open
panels too. `manage.py simulate_calls` drives made-up calls through
`LiveCall` from its own process.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import queue
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime

import redis
import redis.asyncio as aredis
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from clinic import redis_server
from patients.phone import format_phone, mask_phone
from voiceagent.context import REDIS_ERRORS, REDIS_TIMEOUT, RedisGuard, RedisSkipped, redis_client

log = logging.getLogger(__name__)

GROUP = "live_calls"
TTL_SECONDS = 45
HEARTBEAT_SECONDS = 15


def standalone_guard() -> RedisGuard:
    """For writers that keep no caller waiting (the event publisher thread, simulate_calls, scripts):
    each operation is bounded, a little more generously than a call's, and never skipped, so a slow
    moment on a loaded machine loses no more than that one write."""
    return RedisGuard(timeout=2 * REDIS_TIMEOUT, retry_after=0)


class Stage:
    """Where a call is. The dashboard shows the label; order is the usual flow."""

    GREETING = "greeting"
    IDENTIFYING = "identifying"
    CHOOSING_SLOT = "choosing_slot"
    BOOKING = "booking"
    RESCHEDULING = "rescheduling"
    CANCELLING = "cancelling"
    INFO = "info"
    TRANSFERRING = "transferring"
    WRAPPING_UP = "wrapping_up"

    LABELS = {
        GREETING: "Greeting",
        IDENTIFYING: "Identifying caller",
        CHOOSING_SLOT: "Choosing a time",
        BOOKING: "Booking",
        RESCHEDULING: "Rescheduling",
        CANCELLING: "Cancelling",
        INFO: "Answering a question",
        TRANSFERRING: "Transferring to staff",
        WRAPPING_UP: "Wrapping up",
    }


def _key(room: str) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:livecall:{room}"


def _index_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:livecalls"


def _iso(value: datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    return value.astimezone(timezone.get_default_timezone()).isoformat()


@dataclass
class CallState:
    room: str
    started_at: str
    caller_phone: str = ""
    caller_name: str = ""
    patient_id: int | None = None
    stage: str = Stage.GREETING
    provider: str = ""
    requested_slot: str = ""
    updated_at: str = ""

    FIELDS = ("caller_phone", "caller_name", "patient_id", "stage", "provider", "requested_slot")

    def as_dict(self) -> dict:
        data = asdict(self)
        data["stage_label"] = Stage.LABELS.get(self.stage, self.stage)
        data["caller_phone_display"] = format_phone(self.caller_phone)
        data["requested_slot_label"] = slot_label(self.requested_slot)
        return data


def slot_label(value: str) -> str:
    """A slot as the panel shows it ("Mon 12 May, 10:30", clinic time); empty stays empty."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return value
    local = moment.astimezone(timezone.get_default_timezone())
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


def _async_client() -> aredis.Redis:
    return redis_client(REDIS_TIMEOUT)


def _sync_client() -> redis.Redis:
    return redis_server.pooled_client(settings.REDIS_URL, timeout=2)


@dataclass
class LiveCall:
    """The writer's handle on one active call."""

    state: CallState
    _redis: aredis.Redis = field(default_factory=_async_client, repr=False)
    guard: RedisGuard = field(default_factory=standalone_guard, repr=False)
    _dirty: bool = True
    # call.updated events this handle got out (simulate_calls reports it; the benchmark counts losses by it).
    sent: int = 0

    @classmethod
    async def start(
        cls,
        room: str,
        *,
        caller_phone: str = "",
        caller_name: str = "",
        patient_id: int | None = None,
        stage: str = Stage.GREETING,
        guard: RedisGuard | None = None,
    ) -> "LiveCall":
        now = timezone.now()
        call = cls(
            CallState(
                room=room,
                started_at=_iso(now),
                caller_phone=caller_phone,
                caller_name=caller_name,
                patient_id=patient_id,
                stage=stage,
                updated_at=_iso(now),
            ),
            guard=guard or standalone_guard(),
        )
        await call._push()
        return call

    async def update(self, **changes) -> bool:
        """Change any of CallState.FIELDS and tell the dashboards; Redis trouble is logged, not raised.

        Returns whether the state was stored and the event sent (False means the
        next heartbeat retries); callers may ignore it.
        """
        unknown = set(changes) - set(CallState.FIELDS)
        if unknown:
            raise TypeError(f"unknown live-call fields: {sorted(unknown)}")
        for name, value in changes.items():
            if name == "requested_slot":
                value = _iso(value)
            setattr(self.state, name, value)
        self.state.updated_at = _iso(timezone.now())
        self._dirty = True
        return await self._push()

    async def heartbeat(self) -> None:
        """Keep the record alive; also re-sends a state that Redis missed.

        It runs beside the conversation (no caller waits for it), so it tries
        Redis even while the guard skips it for the turns: its success is
        what lets the call's writes through again.
        """
        if self._dirty:
            await self._push(probe=True)
            return
        try:
            expires = time.time() + TTL_SECONDS
            async with self.guard.bounded(probe=True), self._redis.pipeline(transaction=False) as pipe:
                pipe.expire(_key(self.state.room), TTL_SECONDS)
                pipe.zadd(_index_key(), {self.state.room: expires})
                await pipe.execute()
        except REDIS_ERRORS as exc:
            self._dirty = True
            log.warning("live call %s: heartbeat failed (%s)", self.state.room, type(exc).__name__)

    async def end(self) -> None:
        """Remove the call from every panel. Tried even while the guard skips Redis: the conversation is
        over, nobody waits for it, and a panel that missed it would show the call until its TTL ran out."""
        try:
            async with self.guard.bounded(probe=True), self._redis.pipeline(transaction=False) as pipe:
                pipe.delete(_key(self.state.room))
                pipe.zrem(_index_key(), self.state.room)
                await pipe.execute()
        except REDIS_ERRORS as exc:
            # The TTL removes it within a minute anyway.
            log.warning("live call %s: could not remove record (%s)", self.state.room, type(exc).__name__)
        await _send({"type": "call.ended", "room": self.state.room}, self.guard, probe=True)
        await self.close()

    async def close(self) -> None:
        try:
            await self._redis.aclose()
        except (redis.RedisError, OSError):
            pass

    async def _push(self, *, probe: bool = False) -> bool:
        payload = self.state.as_dict()
        try:
            expires = time.time() + TTL_SECONDS
            async with self.guard.bounded(probe=probe), self._redis.pipeline(transaction=True) as pipe:
                pipe.set(_key(self.state.room), json.dumps(payload), ex=TTL_SECONDS)
                pipe.zadd(_index_key(), {self.state.room: expires})
                await pipe.execute()
            self._dirty = False
        except REDIS_ERRORS as exc:
            if not isinstance(exc, RedisSkipped):
                log.warning(
                    "live call %s (caller %s): state not stored, will retry (%s)",
                    self.state.room, mask_phone(self.state.caller_phone), type(exc).__name__,
                )
            return False
        if not await _send({"type": "call.updated", "call": payload}, self.guard):
            return False
        self.sent += 1
        return True


async def _send(event: dict, guard: RedisGuard | None = None, *, probe: bool = False) -> bool:
    """Send one event to the live-call group, bounded by `guard` (a call's), or by a standalone one."""
    try:
        async with (guard or standalone_guard()).bounded(probe=probe):
            await get_channel_layer().group_send(GROUP, event)
    except RedisSkipped:
        return False
    except Exception as exc:  # noqa: BLE001 - a missed event must never end a call
        log.warning("live-call event %s not sent (%s)", event.get("type"), type(exc).__name__)
        return False
    return True


def _parse(values: list[str | None]) -> list[dict]:
    calls = [json.loads(v) for v in values if v]
    return sorted(calls, key=lambda c: c["started_at"])


def active_calls() -> list[dict]:
    """Every active call, oldest first (sync: page renders, management commands)."""
    client = _sync_client()
    try:
        now = time.time()
        index = _index_key()
        pipe = client.pipeline(transaction=False)
        pipe.zremrangebyscore(index, "-inf", now)
        pipe.zrangebyscore(index, now, "+inf")
        _, rooms = pipe.execute()
        return _parse(client.mget([_key(r) for r in rooms])) if rooms else []
    finally:
        client.close()


def active_call_count() -> int:
    """How many calls are under way (the navigation badge); O(log n), no records read."""
    client = _sync_client()
    try:
        return client.zcount(_index_key(), time.time(), "+inf")
    finally:
        client.close()


async def aactive_calls() -> list[dict]:
    client = _async_client()
    try:
        now = time.time()
        index = _index_key()
        async with client.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(index, "-inf", now)
            pipe.zrangebyscore(index, now, "+inf")
            _, rooms = await pipe.execute()
        return _parse(await client.mget([_key(r) for r in rooms])) if rooms else []
    finally:
        await client.aclose()


_pending: set[asyncio.Task] = set()
# Events waiting for the publisher thread; beyond this many (Redis frozen for
# long) the newest are dropped with a warning: open panels re-read their
# state on their next refresh anyway.
PUBLISH_QUEUE = 1000
# How long a process that is exiting waits for its queued events (bounded, so
# a frozen Redis cannot hold up the exit of a command for long).
EXIT_FLUSH_SECONDS = 3.0


class _Publisher:
    """One background thread per process that sends events from sync code to the channel layer.

    A booking's after-commit event must not wait on Redis: with Redis frozen
    (answering nothing) a send waits out the channel layer's 15 s socket
    timeout, and the caller (or the receptionist) would hear or see nothing
    for that long. The booking's thread only queues the event; this thread
    sends them in order, each bounded by `_send`'s timeout.
    """

    def __init__(self):
        self.queue: queue.Queue[dict] = queue.Queue(maxsize=PUBLISH_QUEUE)
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.flush_at_exit = False

    def put(self, event: dict) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="live-events", daemon=True)
                self.thread.start()
                if not self.flush_at_exit:
                    # A short-lived process (a management command, a script)
                    # would otherwise exit with its events still queued, and
                    # open dashboards would never hear of its bookings.
                    atexit.register(flush_events, EXIT_FLUSH_SECONDS)
                    self.flush_at_exit = True
        try:
            self.queue.put_nowait(event)
        except queue.Full:
            log.warning("%s event dropped: %s events already wait for Redis", event.get("type"), PUBLISH_QUEUE)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        while True:
            event = self.queue.get()
            try:
                loop.run_until_complete(_send(event))
            finally:
                self.queue.task_done()


_publisher = _Publisher()


def flush_events(timeout: float = 5.0) -> bool:
    """Wait until the queued events were sent or given up on (tests, and a worker shutting down)."""
    deadline = time.monotonic() + timeout
    while _publisher.queue.unfinished_tasks and time.monotonic() < deadline:
        time.sleep(0.01)
    return not _publisher.queue.unfinished_tasks


def _send_from_sync(event: dict) -> None:
    """Send from sync code (an on_commit hook); the change is committed, so a missed event is only logged.

    Usually there is no event loop in this thread (a request thread, a
    sync_to_async worker): the event goes to the publisher thread and this
    thread carries on at once. If sync code runs inside a loop's thread, the
    send is scheduled on that loop.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:
        task = loop.create_task(_send(event))
        _pending.add(task)  # keep a reference until it is done
        task.add_done_callback(_pending.discard)
        return
    _publisher.put(event)


def announce(event: dict) -> None:
    """Send a typed event to every open dashboard from sync code, after the change it reports committed."""
    _send_from_sync(event)


def on_appointment_changed(sender, *, appointment, action: str, **kwargs) -> None:
    """scheduling.services.appointment_changed receiver (connected in apps.py).

    Runs after commit. Only ids and times go out: dashboards re-render what
    they show from the database, with the viewer's permissions.
    """
    event = {
        "type": "appointment.changed",
        "appointment": {
            "id": appointment.pk,
            "action": action,
            "status": appointment.status,
            "provider_id": appointment.provider_id,
            "patient_id": appointment.patient_id,
            "start": _iso(appointment.start),
        },
    }
    _send_from_sync(event)


def on_patient_deleted(sender, *, patient_id: int, **kwargs) -> None:
    """patients.services.patient_deleted receiver: their appointments are gone too."""
    event = {"type": "appointment.changed", "appointment": {"id": None, "action": "patient_deleted",
                                                             "patient_id": patient_id}}
    _send_from_sync(event)
