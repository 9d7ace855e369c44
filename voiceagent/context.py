"""What the agent remembers: the call context (one call) and caller profiles (one phone number).

Call context: everything a call has learnt so far (stage, caller, patient,
the slots it offered under opaque ids, the requested slot, failures). The
job process owns it and keeps the working copy in memory; every change is
also written to Redis with a TTL, so the state of a live call can be
inspected from outside the process and a wedged call's leftovers expire.

Caller profile: per phone number, long-lived (name, patient id, last
provider, number of calls, last call time, language), so a returning caller
is greeted by name and in their language. Redis is the fast path; the database (Patient, Call) is the truth:
a missing or unreadable profile is rebuilt from it, and the profile is
written again from the database at the end of every call, so one that Redis
missed catches up on the next.

Redis going away (stopped, frozen, stalled inside a command) must never
stall or end a call: every Redis operation of a call goes through the call's
`RedisGuard`, which bounds it and, after a failure, skips Redis for the rest
of the caller's turn and a few seconds, so a frozen server costs a turn at
most one short wait. A failure is logged (no phone numbers) and the write is
retried later.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime

import redis
import redis.asyncio as aredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from patients.phone import mask_phone

log = logging.getLogger(__name__)

# A turn must never wait long on Redis; a miss costs less than a pause. Long
# enough that a healthy Redis on a loaded machine is not taken for a dead one.
REDIS_TIMEOUT = 0.5
# After a failure, skip Redis for the rest of the turn and at least this long
# (writes are kept and retried; the heartbeat tries again in the background).
RETRY_AFTER_SECONDS = 2.0
# The context outlives the longest call a little; the profile a long while.
CONTEXT_TTL_EXTRA_SECONDS = 600
PROFILE_TTL_SECONDS = 400 * 24 * 3600



class RedisSkipped(redis.RedisError):
    """Not tried: Redis failed a moment ago (RedisGuard); handled like any Redis failure."""


REDIS_ERRORS = (redis.RedisError, OSError, asyncio.TimeoutError)


class RedisGuard:
    """One call's Redis allowance, shared by its context store, caller profile, live-call handle and events.

    A caller must never hear a long silence because Redis answers nothing: a
    frozen server keeps its socket open, so only a timeout notices, and one
    timeout per store per step of a turn adds up to seconds. Every operation
    runs under `bounded()`: it gives up after `timeout`; after a failure,
    every store skips Redis at once (RedisSkipped) for the rest of the
    caller's turn and at least RETRY_AFTER_SECONDS, so a turn waits out at most
    one timeout however many writes it makes. Writes that were skipped stay in
    memory and are sent again later. The heartbeat, which runs beside the
    conversation, tries anyway (`probe=True`): no caller waits for it, and its
    success lets the turn's writes through again.
    """

    def __init__(self, timeout: float | None = None, retry_after: float | None = None):
        self.timeout = REDIS_TIMEOUT if timeout is None else timeout
        self.retry_after = retry_after  # None: RETRY_AFTER_SECONDS
        self.failed_at: float | None = None  # monotonic; None while Redis answers
        # Turns are counted by whoever runs them (new_turn: the opening of a
        # call, then each caller turn); without any (a simulated call) only the time counts.
        self.turn = 0
        self.failed_in_turn: int | None = None

    def new_turn(self) -> None:
        self.turn += 1

    @property
    def open(self) -> bool:
        """Whether Redis is being skipped."""
        if self.failed_at is None:
            return False
        retry_after = RETRY_AFTER_SECONDS if self.retry_after is None else self.retry_after
        return (time.monotonic() - self.failed_at < retry_after
                or (self.turn > 0 and self.failed_in_turn == self.turn))

    @contextlib.asynccontextmanager
    async def bounded(self, *, probe: bool = False):
        """`async with guard.bounded(): await client...`: raises RedisSkipped at once while open
        (unless `probe`), TimeoutError after `timeout`, and remembers the outcome."""
        if self.open and not probe:
            raise RedisSkipped()
        try:
            async with asyncio.timeout(self.timeout):
                yield
        except REDIS_ERRORS:
            self.failed_at, self.failed_in_turn = time.monotonic(), self.turn
            raise
        self.failed_at = None


def redis_client(timeout: float = REDIS_TIMEOUT) -> aredis.Redis:
    """An asyncio client whose every call gives up after `timeout` seconds
    (the live-call store uses it too, with its own limit)."""
    return aredis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        decode_responses=True,
    )


def context_key(room: str) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:callctx:{room}"


def profile_key(e164: str) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:caller:{e164}"


@dataclass
class CallContext:
    room: str
    caller_phone: str = ""  # E.164, "" while unknown (withheld caller ID)
    phone_from_caller_id: bool = False
    stage: str = "greeting"
    patient_id: int | None = None
    patient_name: str = ""
    date_of_birth: str = ""  # ISO, for a new patient
    # True once phone + name (+ date of birth on file) matched one patient:
    # only then may the agent list, move or cancel appointments.
    verified: bool = False
    provider: str = ""
    requested_slot: str = ""  # ISO
    # "slot-3" -> {"provider_id", "provider", "start"}: the only times the
    # model can book (it never sends a time of its own).
    offered: dict[str, dict] = field(default_factory=dict)
    # "appt-2" -> appointment id: the verified patient's listed appointments.
    listed: dict[str, int] = field(default_factory=dict)
    next_id: int = 1
    failures: int = 0
    # Identity checks on this call that did not identify anyone (voiceagent.tools.IDENTITY_TRIES).
    identity_failures: int = 0
    appointment_id: int | None = None
    outcome: str = ""
    emergency: bool = False
    language: str = ""  # the caller's language so far (voiceagent.languages)
    # A correction of the caller's own details read back and awaiting their yes.
    pending_change: dict = field(default_factory=dict)
    pending_since_turn: int = 0

    def new_id(self, prefix: str) -> str:
        ident = f"{prefix}-{self.next_id}"
        self.next_id += 1
        return ident


class ContextStore:
    """The call's context: memory first, Redis behind it."""

    def __init__(self, context: CallContext, client: aredis.Redis | None = None, guard: RedisGuard | None = None):
        self.context = context
        self.redis = client or redis_client()
        self.guard = guard or RedisGuard()
        self.dirty = True

    @property
    def ttl(self) -> int:
        return settings.CALL_MAX_MINUTES * 60 + CONTEXT_TTL_EXTRA_SECONDS

    async def save(self) -> bool:
        """Write the context to Redis; False (and retried later) when Redis is away."""
        self.dirty = True
        return await self.flush()

    async def flush(self, *, probe: bool = False) -> bool:
        """Write a context that Redis missed; `probe` (the heartbeat) tries even while the guard skips Redis."""
        if not self.dirty:
            return True
        try:
            async with self.guard.bounded(probe=probe):
                await self.redis.set(context_key(self.context.room), json.dumps(asdict(self.context)), ex=self.ttl)
        except REDIS_ERRORS as exc:
            if not isinstance(exc, RedisSkipped):
                log.warning("call %s: context not stored, kept in memory (%s)", self.context.room,
                            type(exc).__name__)
            return False
        self.dirty = False
        return True

    async def delete(self) -> None:
        try:
            async with self.guard.bounded():
                await self.redis.delete(context_key(self.context.room))
        except REDIS_ERRORS:
            pass  # it expires by itself

    async def close(self) -> None:
        try:
            await self.redis.aclose()
        except REDIS_ERRORS:
            pass


async def context_read(room: str, client: aredis.Redis | None = None) -> CallContext | None:
    """The stored context of a call (for inspection and tests)."""
    own = client is None
    client = client or redis_client()
    try:
        raw = await client.get(context_key(room))
    finally:
        if own:
            await client.aclose()
    return CallContext(**json.loads(raw)) if raw else None


# --- caller profiles ---------------------------------------------------------

@dataclass
class CallerProfile:
    phone: str
    name: str = ""
    patient_id: int | None = None
    last_provider: str = ""
    calls: int = 0
    last_call_at: str = ""  # ISO
    language: str = ""  # the language of the caller's last call in which they spoke

    @property
    def returning(self) -> bool:
        return bool(self.name and self.patient_id)


def profile_from_db(e164: str, *, exclude_room: str = "") -> CallerProfile:
    """The profile as the database knows it: past calls, the patient, their last provider, their language."""
    from patients.selectors import patients_for_phone
    from scheduling.models import Appointment
    from voiceagent.models import Call

    profile = CallerProfile(phone=e164)
    calls = Call.objects.filter(caller_phone=e164).exclude(room=exclude_room)
    profile.calls = calls.count()
    last_call = calls.order_by("-started_at").select_related("patient").first()
    if last_call:
        profile.last_call_at = last_call.started_at.isoformat()
    # A call in which the caller never spoke says nothing about their language.
    spoken = calls.filter(turns__gt=0).exclude(language="").order_by("-started_at").values_list("language", flat=True)
    profile.language = spoken.first() or ""
    # The patient who called last from this number; else the only one on it.
    patient = last_call.patient if last_call and last_call.patient else None
    if patient is None:
        candidates = list(patients_for_phone(e164)[:2])
        patient = candidates[0] if len(candidates) == 1 else None
    if patient:
        profile.name, profile.patient_id = patient.full_name, patient.pk
        last = (
            Appointment.objects.filter(patient=patient, start__lte=timezone.now())
            .exclude(status=Appointment.Status.CANCELLED)
            .select_related("provider")
            .order_by("-start")
            .first()
        )
        profile.last_provider = last.provider.name if last else ""
    return profile


async def profile_load(e164: str, client: aredis.Redis, *, room: str = "",
                       guard: RedisGuard | None = None) -> CallerProfile | None:
    """Redis first; on a miss or an outage, the database (and the cache is refilled)."""
    if not e164:
        return None
    guard = guard or RedisGuard()
    try:
        async with guard.bounded():
            raw = await client.get(profile_key(e164))
        if raw:
            return CallerProfile(**json.loads(raw))
    except REDIS_ERRORS as exc:
        log.warning("caller %s: profile not read from Redis (%s)", mask_phone(e164), type(exc).__name__)
        return await sync_to_async(profile_from_db)(e164, exclude_room=room)
    except (TypeError, ValueError):
        log.warning("caller %s: unreadable profile, rebuilt from the database", mask_phone(e164))
    profile = await sync_to_async(profile_from_db)(e164, exclude_room=room)
    await profile_store(profile, client, guard)
    return profile


async def profile_store(profile: CallerProfile, client: aredis.Redis, guard: RedisGuard | None = None) -> bool:
    try:
        async with (guard or RedisGuard()).bounded():
            await client.set(profile_key(profile.phone), json.dumps(asdict(profile)), ex=PROFILE_TTL_SECONDS)
        return True
    except REDIS_ERRORS as exc:
        # Missed ones catch up: every call's end writes its caller's profile from the database again.
        log.warning("caller %s: profile not stored (%s)", mask_phone(profile.phone), type(exc).__name__)
        return False


async def profile_refresh(e164: str, client: aredis.Redis, guard: RedisGuard | None = None) -> CallerProfile | None:
    """Rewrite the profile from the database (end of call): the truth wins."""
    if not e164:
        return None
    profile = await sync_to_async(profile_from_db)(e164)
    await profile_store(profile, client, guard)
    return profile


def iso_now() -> str:
    return timezone.now().isoformat()


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value)
