"""Reminder calls: the phone agent rings a patient about an appointment (LiveKit SIP outbound).

`place_reminder_call(appointment_id)` is what the background queue calls
(for patients who prefer a call, and for Pending bookings). It checks the
appointment still wants a call, takes one of `REMINDER_CALLS_AT_ONCE` lines,
opens the outbound `Call` record and asks LiveKit to dispatch this agent to
a new room with a small job description (`ReminderJob`: ids only, no name,
number or time, since dispatch metadata passes through LiveKit). The job
(voiceagent.agent) reads the rest from the database, dials the patient on
the outbound trunk `setup_telephony --outbound-number` made (`dial_request`)
and holds the conversation; it frees the line when the call ends.

Two exceptions tell the queue what to do next: `LinesBusy` (try again
later: no free line, or this visit's previous call is still going) and
`NotCalling` (do not: the visit is gone, confirmed, or the attempts are used
up; the message says which).

How a call ended is announced with the `reminder_call_ended` signal (the
notifications app listens: it calls again later, or sends the reminder by
SMS once the calls are used up). It is sent from the job's process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.dispatch import Signal
from django.utils import timezone
from livekit import api

from patients.phone import mask_phone
from scheduling.models import OPEN_STATUSES, Appointment
from voiceagent import calls, telephony
from voiceagent.context import RedisGuard, redis_client
from voiceagent.models import Call

log = logging.getLogger(__name__)

PURPOSE_REMINDER = "reminder"
ROOM_PREFIX = "reminder-"
# How long the patient's phone rings before the call counts as not answered.
RING_SECONDS = 40
# A line is held at most this long past the ringing, in case a job dies without freeing it.
LINE_MARGIN_SECONDS = 120


class OutboundError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class LinesBusy(OutboundError):
    """Every reminder line is in use: try this appointment again later."""


class NotCalling(OutboundError):
    """This appointment gets no call (now or later); the message says why."""


# Sent with appointment_id, call_id and outcome (a Call.Outcome, or "" when
# the patient was not rung because the visit no longer needed a call).
reminder_call_ended = Signal()

# SIP answers to a call that say nobody took it (busy, no answer, declined,
# rung out); any other SIP failure (a wrong number, a refusing trunk) is a failed call.
NOT_ANSWERED_SIP = {408, 480, 486, 487, 600, 603}


@dataclass(frozen=True)
class ReminderJob:
    """The job's description, carried as LiveKit dispatch metadata."""

    appointment_id: int
    call_id: int
    trunk_id: str
    purpose: str = PURPOSE_REMINDER

    def metadata(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_metadata(cls, raw: str | None) -> ReminderJob | None:
        """The reminder job in a dispatch's metadata; None for anything else (an inbound call has none)."""
        try:
            data = json.loads(raw or "")
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("purpose") != PURPOSE_REMINDER:
            return None
        appointment_id, call_id, trunk_id = data.get("appointment_id"), data.get("call_id"), data.get("trunk_id")
        if not (isinstance(appointment_id, int) and isinstance(call_id, int) and isinstance(trunk_id, str)
                and trunk_id):
            return None
        return cls(appointment_id=appointment_id, call_id=call_id, trunk_id=trunk_id)


def dial_request(job: ReminderJob, *, room: str, number: str) -> api.CreateSIPParticipantRequest:
    """Ring the patient on the outbound trunk into the call's room; answered or not decides the outcome."""
    return api.CreateSIPParticipantRequest(
        sip_trunk_id=job.trunk_id,
        sip_call_to=number,
        room_name=room,
        participant_identity=patient_identity(job),
        participant_name="Patient",
        wait_until_answered=True,
        ringing_timeout=_duration(RING_SECONDS),
        max_call_duration=_duration(settings.CALL_MAX_MINUTES * 60),
    )


def patient_identity(job: ReminderJob) -> str:
    return f"patient-{job.appointment_id}"


def _duration(seconds: int):
    from google.protobuf.duration_pb2 import Duration

    return Duration(seconds=seconds)


# --- lines: how many reminder calls run at once -------------------------------------

def _lines_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:reminder-lines"


# Atomic check-and-take: drop lines whose holder died, then take one if fewer than the limit are held.
_TAKE_LINE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
return 1
"""


async def take_line(room: str) -> bool:
    client = redis_client()
    try:
        now = time.time()
        held_until = now + longest_call_seconds()
        return bool(await client.eval(_TAKE_LINE, 1, _lines_key(), now, settings.REMINDER_CALLS_AT_ONCE,
                                      held_until, room))
    finally:
        await client.aclose()


async def free_line(room: str) -> None:
    client = redis_client()
    try:
        async with RedisGuard().bounded():
            await client.zrem(_lines_key(), room)
    except Exception as exc:  # noqa: BLE001 - the line frees itself when its time is up
        log.warning("reminder line of %s not freed (%s)", room, type(exc).__name__)
    finally:
        await client.aclose()


# --- placing a call -------------------------------------------------------------------

@contextlib.asynccontextmanager
async def livekit_api() -> AsyncIterator[api.LiveKitAPI]:
    """LiveKit's API for the configured server (tests replace this function)."""
    lk = api.LiveKitAPI(url=settings.LIVEKIT_URL, api_key=settings.LIVEKIT_API_KEY,
                        api_secret=settings.LIVEKIT_API_SECRET)
    try:
        yield lk
    finally:
        await lk.aclose()


def _reminder_target(appointment_id: int, since: datetime | None = None) -> Appointment:
    """The appointment, when it still wants a reminder call; NotCalling says why not."""
    appointment = Appointment.objects.select_related("patient").filter(pk=appointment_id).first()
    if appointment is None:
        raise NotCalling(f"Appointment {appointment_id} no longer exists.")
    if appointment.status not in OPEN_STATUSES or appointment.start <= timezone.now():
        raise NotCalling(f"Appointment {appointment_id} is {appointment.get_status_display().lower()} or past.")
    if appointment.confirmed_at:
        raise NotCalling(f"Appointment {appointment_id} is already confirmed.")
    if not appointment.patient.phone:
        raise NotCalling(f"The patient of appointment {appointment_id} has no phone number.")
    outbound = Call.objects.filter(direction=Call.Direction.OUTBOUND, appointment_id=appointment_id)
    # Never two calls at once about one visit; a call whose job died stops counting when its line would.
    if outbound.filter(outcome=Call.Outcome.IN_PROGRESS,
                       started_at__gt=timezone.now() - timedelta(seconds=longest_call_seconds())).exists():
        raise LinesBusy(f"A reminder call about appointment {appointment_id} is still going on.")
    placed = outbound.filter(started_at__gte=since).count() if since else outbound.count()
    if placed >= settings.REMINDER_CALL_ATTEMPTS:
        raise NotCalling(f"Appointment {appointment_id} has had its {placed} reminder calls.")
    return appointment


def close_dead_calls(appointment_id: int) -> int:
    """Mark as failed this visit's reminder calls still "in progress" past the longest call: their job died."""
    now = timezone.now()
    return Call.objects.filter(
        direction=Call.Direction.OUTBOUND, appointment_id=appointment_id, outcome=Call.Outcome.IN_PROGRESS,
        started_at__lt=now - timedelta(seconds=longest_call_seconds()),
    ).update(outcome=Call.Outcome.FAILED, ended_at=now)


def longest_call_seconds() -> int:
    """The longest a reminder call can last: ringing, the call's time limit and a margin."""
    return RING_SECONDS + settings.CALL_MAX_MINUTES * 60 + LINE_MARGIN_SECONDS


async def aplace_reminder_call(appointment_id: int, *, since: datetime | None = None) -> None:
    """`since`: count only the calls placed from then on against REMINDER_CALL_ATTEMPTS
    (a moved visit's reminder gets calls of its own)."""
    appointment = await sync_to_async(_reminder_target)(appointment_id, since)
    async with livekit_api() as lk:
        trunk_id = await telephony.outbound_trunk_id(lk.sip)
        if not trunk_id:
            raise NotCalling("There is no outbound trunk: run manage.py setup_telephony --outbound-number.")
        room = f"{ROOM_PREFIX}{appointment_id}-{secrets.token_hex(4)}"
        if not await take_line(room):
            raise LinesBusy(f"All {settings.REMINDER_CALLS_AT_ONCE} reminder lines are in use.")
        call = await Call.objects.acreate(
            room=room, direction=Call.Direction.OUTBOUND, caller_phone=appointment.patient.phone,
            caller_name=appointment.patient.full_name, patient_id=appointment.patient_id,
            appointment_id=appointment.pk, started_at=timezone.now(),
        )
        job = ReminderJob(appointment_id=appointment.pk, call_id=call.pk, trunk_id=trunk_id)
        try:
            await lk.agent_dispatch.create_dispatch(api.CreateAgentDispatchRequest(
                agent_name=settings.VOICE_AGENT_NAME, room=room, metadata=job.metadata()))
        except Exception:
            await free_line(room)
            await calls.call_update(call.pk, outcome=Call.Outcome.FAILED, ended_at=timezone.now())
            raise
    log.info("reminder call %s placed for appointment %s (patient %s)", room, appointment_id,
             mask_phone(appointment.patient.phone))


def place_reminder_call(appointment_id: int, *, since: datetime | None = None) -> None:
    """Ring the patient about this appointment (from sync code: the background queue's task)."""
    async_to_sync(aplace_reminder_call)(appointment_id, since=since)


# --- the job's side ---------------------------------------------------------------------

@dataclass(frozen=True)
class Reminder:
    """What the job knows about the call it makes (read from the database, not from the metadata)."""

    appointment_id: int
    patient_id: int
    phone: str
    patient_name: str


def _job_target(job: ReminderJob) -> Reminder | None:
    appointment = Appointment.objects.select_related("patient").filter(pk=job.appointment_id).first()
    if (appointment is None or appointment.status not in OPEN_STATUSES or appointment.confirmed_at
            or not appointment.patient.phone):
        return None
    return Reminder(appointment_id=appointment.pk, patient_id=appointment.patient_id,
                    phone=appointment.patient.phone, patient_name=appointment.patient.full_name)


async def dial_patient(sip, job: ReminderJob, *, room: str) -> Reminder | None:
    """Ring the patient; the Reminder once they answer, None when the call ends here (recorded, line freed).

    With `wait_until_answered`, LiveKit's API answers once the patient picks
    up, or raises `api.SipCallError` with the SIP status when the call did
    not connect: busy (486, 600), no answer or rung out (408, 480, 487) and
    declined (603) are a "No answer"; any other SIP status, an API error
    without one (a wrong trunk, bad keys) or LiveKit out of reach is a
    "Failed" call. Either may be tried again later (notifications).
    A visit cancelled or confirmed since the call was placed is not rung at
    all, and its record is dropped: no call took place.
    """
    target = await sync_to_async(_job_target)(job)
    if target is None:
        log.info("reminder call %s: the visit no longer needs a call; not dialling", room)
        await Call.objects.filter(pk=job.call_id).adelete()
        await free_line(room)
        await announce_end(job.appointment_id, job.call_id, "")
        return None
    try:
        await sip.create_sip_participant(dial_request(job, room=room, number=target.phone))
    except api.SipCallError as exc:
        outcome = Call.Outcome.NO_ANSWER if exc.sip_status_code in NOT_ANSWERED_SIP else Call.Outcome.FAILED
        log.info("reminder call %s: did not connect (SIP %s %s): %s", room, exc.sip_status_code,
                 exc.sip_status or "", outcome)
        await call_ended(job, room, outcome)
        return None
    except Exception as exc:  # noqa: BLE001 - LiveKit refused or out of reach: the queue may try again later
        log.warning("reminder call %s: dialling failed (%s %s)", room, type(exc).__name__,
                    getattr(exc, "code", ""))
        await call_ended(job, room, Call.Outcome.FAILED)
        return None
    return target


async def call_ended(job: ReminderJob, room: str, outcome: str) -> None:
    """A reminder call that ends without a conversation: its record closed, its line freed."""
    await calls.call_update(job.call_id, outcome=outcome, ended_at=timezone.now())
    await free_line(room)
    await announce_end(job.appointment_id, job.call_id, outcome)


async def announce_end(appointment_id: int, call_id: int, outcome: str) -> None:
    """Tell the listeners (notifications: call again, or remind by SMS) how this call ended."""
    await reminder_call_ended.asend(sender=Call, appointment_id=appointment_id, call_id=call_id, outcome=outcome)
