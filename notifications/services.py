"""Confirmations and reminders: scheduled when an appointment changes, sent by the worker.

Every booking, move and cancellation, from any interface, reaches
`on_appointment_changed` after its transaction commits (the
scheduling.services.appointment_changed signal). It writes Notification rows
and puts a task on the queue (django.tasks, database backend) for each, due
now (confirmations) or `REMINDER_LEAD_HOURS` before the visit (reminders).
Nothing here may fail a booking: a problem is logged and the booking stands.

The worker (`manage.py db_worker`) runs `notification_deliver`, which
- claims the row (pending -> sending, one conditional UPDATE): a duplicated
  or retried task finds nothing to claim and sends nothing;
- sends nothing when it no longer applies (the visit was moved, cancelled,
  restored or has begun), nor when the patient asked for no messages;
- defers a reminder that falls in quiet hours to their end;
- retries a failed send with doubling waits, `NOTIFY_MAX_ATTEMPTS` in all,
  then marks it failed, which the appointment's page and the admin show.

A reminder by phone is "Calling" once the call is placed; how it ended
(`reminder_call_ended`, from the phone agent's job) decides the rest: an
answered call ends it, voicemail or no answer calls again after
`REMINDER_CALL_RETRY_MINUTES`, and once `REMINDER_CALL_ATTEMPTS` calls went
unanswered (or no call fits before the visit) the reminder goes by SMS or email.

The worker's sweep (`worker_sweep`, at its start and every few minutes)
keeps a dead worker from leaving anything silently stuck: see there.
"""

from __future__ import annotations

import importlib.util
import logging
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.models import ClinicProfile
from notifications import senders, texts
from notifications.models import Notification
from patients.models import Patient
from patients.phone import format_phone
from scheduling.models import OPEN_STATUSES, Appointment
from scheduling.services import say_day, say_time
from voiceagent.models import Call

logger = logging.getLogger(__name__)

Kind, Channel, Status = Notification.Kind, Notification.Channel, Notification.Status
Preference = Patient.ContactPreference

_CONFIRMATION_FOR = {"booked": Kind.BOOKED, "rescheduled": Kind.MOVED, "cancelled": Kind.CANCELLED}

# Reminder calls that reached nobody: worth another call, then an SMS.
UNANSWERED = {Call.Outcome.VOICEMAIL, Call.Outcome.NO_ANSWER, Call.Outcome.FAILED}
# No reminder call closer to the visit than this: the patient may be on the way.
LAST_CALL_BEFORE_VISIT = timedelta(hours=2)


# --- scheduling -----------------------------------------------------------------

def on_appointment_changed(sender, *, appointment: Appointment, action: str, **kwargs) -> None:
    """scheduling.services.appointment_changed receiver (connected in apps.py)."""
    try:
        notifications_for_change(appointment=appointment, action=action)
    except Exception:
        # The booking is committed and must stand; the desk sees the missing
        # confirmation on the appointment (no row), and the log says why.
        logger.exception("Could not schedule messages for appointment %s (%s)", appointment.pk, action)


def notifications_for_change(*, appointment: Appointment, action: str, now: datetime | None = None) -> list[Notification]:
    """The confirmation and reminder an appointment change calls for, scheduled; those newly made."""
    now = now or timezone.now()
    made = []
    kind = _CONFIRMATION_FOR.get(action)
    if kind:
        made.append(notification_schedule(appointment=appointment, kind=kind, due_at=now, now=now))
    # A restored (un-cancelled) visit needs its reminder again; one that
    # already exists for this time is left as it is.
    if action in ("booked", "rescheduled", "status") and appointment.status in OPEN_STATUSES:
        due = appointment.start - timedelta(hours=settings.REMINDER_LEAD_HOURS)
        # Booked closer than the lead time: the confirmation just sent is the reminder.
        if due > now:
            made.append(notification_schedule(appointment=appointment, kind=Kind.REMINDER, due_at=due, now=now))
    return [n for n in made if n]


def notification_schedule(*, appointment: Appointment, kind: str, due_at: datetime,
                          now: datetime | None = None) -> Notification | None:
    """Make the row for this appointment, kind and start, and queue its delivery; None if it exists."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                appointment=appointment, kind=kind, appointment_start=appointment.start, due_at=due_at)
            # Same transaction: the row and its task exist together or not at all.
            _enqueue(notification, now=now)
    except IntegrityError:
        return None  # already scheduled (the unique constraint)
    return notification


def _enqueue(notification: Notification, *, now: datetime) -> None:
    from notifications.tasks import deliver_notification

    run_after = notification.due_at if notification.due_at > now else None
    deliver_notification.using(run_after=run_after).enqueue(notification.pk)


# --- delivery -------------------------------------------------------------------

def in_quiet_hours(moment: datetime) -> datetime | None:
    """The end of the quiet hours `moment` falls in (clinic time), or None outside them."""
    if not settings.QUIET_HOURS:
        return None
    start, end = settings.QUIET_HOURS
    local = timezone.localtime(moment)
    clock = local.time()
    if start < end:
        inside = start <= clock < end
    else:  # over midnight, the usual case: 21:00-08:00
        inside = clock >= start or clock < end
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=local.tzinfo)


def _no_longer_applies(notification: Notification, appointment: Appointment, now: datetime) -> str:
    """Why this message should not go now; "" when it should."""
    if appointment.start != notification.appointment_start:
        return "the appointment was moved since"
    if notification.kind == Kind.CANCELLED:
        return "" if appointment.status == Appointment.Status.CANCELLED else "the appointment was restored since"
    if appointment.status == Appointment.Status.CANCELLED:
        return "the appointment was cancelled since"
    if notification.kind == Kind.REMINDER:
        if appointment.status not in OPEN_STATUSES:
            return f"the appointment is {appointment.get_status_display().lower()}"
        if appointment.start <= now:
            return "the appointment has begun"
        if notification.calls and appointment.confirmed_at:
            return "the patient confirmed after the last reminder call"
    return ""


def reminder_calls_available() -> bool:
    """Whether the phone agent can place reminder calls here (its outbound module and LiveKit settings)."""
    return bool(settings.LIVEKIT_URL) and importlib.util.find_spec("voiceagent.outbound") is not None


def _channel_for(notification: Notification, appointment: Appointment, now: datetime) -> str:
    preference = appointment.patient.contact_preference
    if preference == Preference.NONE:
        return ""
    if notification.kind == Kind.REMINDER and reminder_calls_available() and (
        preference == Preference.CALL or appointment.status == Appointment.Status.PENDING
    ) and _may_call(notification, appointment, now):
        return Channel.CALL
    return _written_channel(appointment)


def _written_channel(appointment: Appointment) -> str:
    # Confirmations for "call", reminder calls where the phone agent cannot
    # call out (or the calls went unanswered), and email without an address go by SMS.
    if appointment.patient.contact_preference == Preference.EMAIL and appointment.patient.email:
        return Channel.EMAIL
    return Channel.SMS


def _may_call(notification: Notification, appointment: Appointment, moment: datetime) -> bool:
    return (notification.calls < settings.REMINDER_CALL_ATTEMPTS
            and moment <= appointment.start - LAST_CALL_BEFORE_VISIT)


def next_call_at(notification: Notification, appointment: Appointment, now: datetime) -> datetime | None:
    """When to ring again after an unanswered reminder call; None when no call is left or fits."""
    at = now + timedelta(minutes=settings.REMINDER_CALL_RETRY_MINUTES)
    at = in_quiet_hours(at) or at
    return at if _may_call(notification, appointment, at) else None


def message_for(notification: Notification, appointment: Appointment) -> tuple[str, str]:
    """(subject, body) in the clinic's words, times in the clinic's zone."""
    profile = ClinicProfile.load()
    values = {
        "clinic": profile.name,
        "provider": appointment.provider.name,
        "day": say_day(appointment.start),
        "time": say_time(appointment.start),
        "clinic_phone": format_phone(profile.phone) if profile.phone else "the clinic",
        "patient": appointment.patient.full_name,
    }
    text = getattr(profile, f"{notification.kind}_text") or texts.DEFAULTS[notification.kind]
    try:
        body = texts.render(text, values)
    except (KeyError, ValueError, IndexError):
        # Saved past the admin's check (a shell, an old row): the default still tells the patient.
        body = texts.render(texts.DEFAULTS[notification.kind], values)
    return f"{profile.name}: {texts.SUBJECTS[notification.kind]}", body


def _claim(notification_id: int) -> bool:
    return Notification.objects.filter(pk=notification_id, status=Status.PENDING).update(
        status=Status.SENDING, updated_at=timezone.now()) == 1


def _finish(notification: Notification, **fields) -> None:
    fields["updated_at"] = timezone.now()
    Notification.objects.filter(pk=notification.pk).update(**fields)


def notification_deliver(notification_id: int, *, now: datetime | None = None) -> str:
    """Send one notification if it still applies; the outcome in one word (the task's result)."""
    now = now or timezone.now()
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None:
        return "gone"  # its appointment was deleted
    if notification.status != Status.PENDING:
        return notification.status
    if notification.kind == Kind.REMINDER:
        quiet_until = in_quiet_hours(now)
        if quiet_until:
            with transaction.atomic():
                if not Notification.objects.filter(pk=notification.pk, status=Status.PENDING).update(
                        due_at=quiet_until, updated_at=now):
                    return "claimed"
                notification.due_at = quiet_until
                _enqueue(notification, now=now)
            return "deferred"
    if not _claim(notification.pk):
        return "claimed"  # another task got there first
    appointment = Appointment.objects.select_related("patient", "provider").filter(
        pk=notification.appointment_id).first()
    if appointment is None:
        return "gone"  # deleted after the claim; its row went with it
    why_not = _no_longer_applies(notification, appointment, now)
    channel = _channel_for(notification, appointment, now) if not why_not else ""
    if not why_not and not channel:
        why_not = "the patient asked for no messages"
    if why_not:
        _finish(notification, status=Status.SKIPPED, detail=why_not)
        return Status.SKIPPED
    # Written before it goes: a worker that dies mid-send leaves a row that says by what.
    Notification.objects.filter(pk=notification.pk).update(channel=channel)
    try:
        channel, note = _send(notification, appointment, channel)
    except Exception as exc:
        return _failed(notification, channel, exc, now=now)
    if channel == Channel.CALL:
        # Placed, not answered: reminder_call_ended hears how it went.
        calls = notification.calls + 1
        _finish(notification, status=Status.CALLING, channel=channel, calls=calls, attempts=0,
                detail=f"Reminder call {calls} of {settings.REMINDER_CALL_ATTEMPTS} placed")
        return Status.CALLING
    if notification.calls and not note:
        note = f"sent after {_calls(notification.calls)} went unanswered"
    _finish(notification, status=Status.SENT, channel=channel, sent_at=timezone.now(),
            attempts=notification.attempts + 1, detail=note[:255])
    return Status.SENT


def _calls(n: int) -> str:
    return f"{n} reminder call{'s' if n != 1 else ''}"


def _send(notification: Notification, appointment: Appointment, channel: str) -> tuple[str, str]:
    """Send by `channel`; the channel it went by and a note for the desk ("" when all went as planned)."""
    note = ""
    if channel == Channel.CALL:
        from voiceagent import outbound  # the phone agent's side: lines, trunk, dispatch

        try:
            # The calls about this visit's current time count: a moved visit's reminder gets its own.
            outbound.place_reminder_call(appointment.pk, since=notification.created_at)
            return Channel.CALL, ""
        except outbound.NotCalling as exc:
            # No call for this visit (no outbound trunk, calls used up,
            # confirmed already): the reminder still goes, in writing.
            channel = _written_channel(appointment)
            note = f"no reminder call ({exc.message}); sent by {Channel(channel).label}"
        except outbound.LinesBusy as exc:
            # Retried with the waits of a failed send, the message shown meanwhile.
            raise senders.SendError(exc.message) from None
        # LiveKit's own errors propagate: retried like a failed send.
    subject, body = message_for(notification, appointment)
    if channel == Channel.EMAIL:
        senders.send_email(appointment.patient.email, subject, body)
    else:
        senders.sms_sender().send(appointment.patient.phone, body)
    return channel, note


def _failed(notification: Notification, channel: str, exc: Exception, *, now: datetime) -> str:
    attempts = notification.attempts + 1
    if isinstance(exc, senders.SendError):
        reason = str(exc)
    else:
        # Not a refusal we know: the log gets the trace, the desk a short word.
        logger.exception("Sending notification %s failed", notification.pk)
        reason = f"sending failed ({type(exc).__name__})"
    if attempts >= settings.NOTIFY_MAX_ATTEMPTS:
        _finish(notification, status=Status.FAILED, channel=channel, attempts=attempts,
                detail=f"Failed after {attempts} attempts: {reason}"[:255])
        logger.warning("Notification %s failed for good after %s attempts", notification.pk, attempts)
        return Status.FAILED
    retry_at = now + timedelta(seconds=settings.NOTIFY_RETRY_SECONDS * 2 ** (attempts - 1))
    with transaction.atomic():
        _finish(notification, status=Status.PENDING, channel=channel, attempts=attempts, due_at=retry_at,
                detail=f"Attempt {attempts} failed: {reason}; trying again"[:255])
        notification.due_at = retry_at
        _enqueue(notification, now=now)
    return "retrying"


def appointment_messages(appointment: Appointment) -> list[Notification]:
    """What was sent, is waiting or failed for one appointment, newest first (its page, the admin)."""
    return list(appointment.notifications.order_by("-due_at", "-id"))


# --- reminder calls: how they ended ---------------------------------------------

def on_reminder_call_ended(sender, *, appointment_id: int, call_id: int, outcome: str, **kwargs) -> None:
    """voiceagent.outbound.reminder_call_ended receiver (connected in apps.py); runs in the call's job."""
    try:
        reminder_call_ended(appointment_id=appointment_id, outcome=outcome)
    except Exception:
        # The call is over and recorded; the sweep finds the reminder still "Calling" and carries on.
        logger.exception("Could not follow up reminder call %s (appointment %s)", call_id, appointment_id)


def reminder_call_ended(*, appointment_id: int, outcome: str, now: datetime | None = None) -> list[Notification]:
    """Carry on after a reminder call about this appointment ended with `outcome` ("" : not rung).

    Answered: the reminder is done. Unanswered: another call after
    REMINDER_CALL_RETRY_MINUTES, or, when none is left or fits before the
    visit, the reminder by SMS or email at once. Each step moves the row
    out of "Calling" with a conditional UPDATE, so a repeated report does nothing.
    """
    now = now or timezone.now()
    done = []
    for notification in Notification.objects.filter(appointment_id=appointment_id, kind=Kind.REMINDER,
                                                     status=Status.CALLING):
        calling = Notification.objects.filter(pk=notification.pk, status=Status.CALLING)
        label = f"Reminder call {notification.calls} of {settings.REMINDER_CALL_ATTEMPTS}"
        if outcome and outcome not in UNANSWERED:
            calling.update(status=Status.SENT, sent_at=now, updated_at=now,
                           detail=f"{label} answered ({Call.Outcome(outcome).label.lower()})")
        elif not outcome:
            calling.update(status=Status.SKIPPED, updated_at=now,
                           detail=f"{label} not rung: the visit was cancelled, moved or confirmed meanwhile")
        else:
            appointment = Appointment.objects.get(pk=appointment_id)
            retry_at = next_call_at(notification, appointment, now)
            said = Call.Outcome(outcome).label.lower()
            if retry_at:
                detail = f"{label}: {said}; calling again {timezone.localtime(retry_at):%-d %b %H:%M}"
            else:
                detail = f"{label}: {said}; no more calls, sending the reminder in writing"
            with transaction.atomic():
                if not calling.update(status=Status.PENDING, due_at=retry_at or now, updated_at=now,
                                      detail=detail[:255]):
                    continue
                notification.due_at = retry_at or now
                _enqueue(notification, now=now)
        done.append(notification)
    return done


# --- staff: send again ------------------------------------------------------------

class NotificationError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def notification_send_again(*, notification_id: int, by: str, now: datetime | None = None) -> Notification:
    """Queue a message that failed, or may have been sent, once more (staff decided it should go)."""
    now = now or timezone.now()
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if notification is None:
            raise NotificationError("That message no longer exists.")
        if notification.status not in (Status.FAILED, Status.UNKNOWN):
            raise NotificationError(f"That message is {notification.get_status_display().lower()}; "
                                    "only a failed one, or one that may have been sent, can be sent again.")
        notification.status, notification.due_at, notification.attempts = Status.PENDING, now, 0
        notification.detail = f"Sending again, asked by {by}"[:255]
        notification.save(update_fields=["status", "due_at", "attempts", "detail", "updated_at"])
        _enqueue(notification, now=now)
    return notification


# --- the worker's sweep: nothing left silently stuck ------------------------------

def worker_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """What a dead worker left behind, put right; how many of each (for the log).

    A worker killed mid-task leaves its task "running" and, when it died
    while sending, its message "Sending". Older than WORKER_STALE_MINUTES
    (a send times out after seconds):
    - the task runs again: safe, because the message's claim makes a second
      run send nothing; a task that was claimed 3 times (it kills its
      worker) is marked failed instead;
    - the message shows "May have been sent": never sent twice by itself,
      since the provider may have taken it; staff can send it again;
    - a reminder still "Calling" past the longest call carries on as if the
      call failed (its job died before it could say how the call ended).
    """
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    stale = now - timedelta(minutes=settings.WORKER_STALE_MINUTES)
    rerun = failed = 0
    for task in DBTaskResult.objects.running().filter(started_at__lt=stale):
        orphan = DBTaskResult.objects.filter(pk=task.pk, status=TaskResultStatus.RUNNING,
                                              started_at=task.started_at)
        if len(task.worker_ids) >= 3:
            failed += orphan.update(status=TaskResultStatus.FAILED, finished_at=now, exception_class_path="WorkerDied",
                                    traceback=f"Its worker died under it {len(task.worker_ids)} times.")
        else:
            rerun += orphan.update(status=TaskResultStatus.READY, started_at=None)
    unknown = Notification.objects.filter(status=Status.SENDING, updated_at__lt=stale).update(
        status=Status.UNKNOWN, updated_at=now,
        detail="The worker stopped while sending: it may have gone out. Send again if the patient did not get it.")
    from voiceagent.outbound import close_dead_calls, longest_call_seconds

    silent = Notification.objects.filter(status=Status.CALLING,
                                         updated_at__lt=now - timedelta(seconds=longest_call_seconds()))
    calls = 0
    for appointment_id in set(silent.values_list("appointment_id", flat=True)):
        close_dead_calls(appointment_id)  # the Calls page stops showing them "In progress"
        calls += len(reminder_call_ended(appointment_id=appointment_id, outcome=Call.Outcome.FAILED, now=now))
    counts = {"tasks run again": rerun, "tasks failed": failed, "messages may have been sent": unknown,
              "silent reminder calls": calls}
    if any(counts.values()):
        logger.warning("Worker sweep: %s", ", ".join(f"{n} {what}" for what, n in counts.items() if n))
    return counts
