"""Writes for appointments: the one home of the booking rules.

The receptionist dashboard, the Django admin and the phone agent all book,
move, cancel and change appointments through these functions. Each one runs
in a transaction, locks the provider so that two bookings for one provider
queue up, re-checks every rule against fresh data, and lets the database's
constraints have the last word (see scheduling.models and migration 0002).
A refusal raises BookingError, whose message says what to do instead, and
leaves the database as it was.

Listeners hear about every committed change through the `appointment_changed`
signal (the live dashboard publishes it to WebSocket clients).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import groupby

from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.formats import date_format

from clinic import hygiene
from patients.models import Patient
from scheduling import availability, selectors
from scheduling.availability import Problem, Rules, Slot
from scheduling.models import OPEN_STATUSES, Appointment, Provider

Status = Appointment.Status

# Sent after commit with appointment=<Appointment>, action="booked" |
# "rescheduled" | "cancelled" | "status" | "confirmed" | "updated" | "deleted".
# Listeners: the live dashboard (voiceagent.livecalls) and the patient's
# confirmations and reminders (notifications.services).
appointment_changed = Signal()


class BookingError(Exception):
    """A refused booking change; `message` is for the receptionist or caller.

    `code` is the availability.Problem value (or another short word) for
    interfaces that react to the kind of refusal; `alternatives` are free
    slots to offer instead, when there are any.
    """

    def __init__(self, message: str, *, code: str, alternatives: list[Slot] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.alternatives = alternatives or []


# --- wording ------------------------------------------------------------------

def say_time(dt: datetime) -> str:
    return date_format(selectors.local(dt), "G:i")


def say_day(dt: datetime) -> str:
    return date_format(selectors.local(dt), "l j F")


def say_slots(slots: list[Slot], names: dict[int, str] | None = None) -> str:
    """"Monday 30 November 9:00, 9:30; Tuesday 1 December 10:00".

    With `names` (provider id -> name), each time says with whom: "9:00 with Dr Khan".
    """
    parts = []
    # Chosen by closeness, read out in clock order within each day.
    for day, group in groupby(slots, key=lambda s: selectors.local(s.start).date()):
        group = sorted(group, key=lambda s: (s.start, s.provider_id))
        times = [say_time(s.start) + (f" with {names[s.provider_id]}" if names else "") for s in group]
        parts.append(f"{say_day(group[0].start)} {', '.join(times)}")
    return "; ".join(parts)


def say_horizon(day: date, rules: Rules) -> str:
    """The sentence for a day past the booking horizon:

    "Friday 22 January 2027 is too far ahead: the clinic books up to Friday 15 January 2027 (45 days ahead)."
    """
    return (f"{date_format(day, 'l j F Y')} is too far ahead: the clinic books up to "
            f"{date_format(rules.last_day, 'l j F Y')} ({rules.horizon_days} days ahead).")


@dataclass(frozen=True)
class PastHorizon:
    """A day past the booking horizon: until when the clinic books, and the last free times before then.

    The one wording for the phone agent (which offers the slots by id) and
    the dashboard's time picker, "next free time" and calendar.
    """

    said: str  # say_horizon's sentence
    slots: list[Slot]
    providers: dict[int, Provider]
    provider: Provider | None  # None: anyone

    @property
    def who(self) -> str:
        """"with Dr Ayesha Khan", "with anyone"."""
        return f"with {self.provider.name}" if self.provider else "with anyone"

    @property
    def message(self) -> str:
        if not self.slots:
            return f"{self.said} There are no free times before then either."
        names = None if self.provider else {pk: p.name for pk, p in self.providers.items()}
        return f"{self.said} The last free times before then {self.who} are {say_slots(self.slots, names)}."


def past_horizon(*, day: date, provider: Provider | None = None, limit: int = 4,
                 now: datetime | None = None) -> PastHorizon:
    """What to say for a request on `day`, past the booking horizon, with `provider` or anyone (None)."""
    rules = selectors.booking_rules(now=now)
    _, result = selectors.last_free_times(provider=provider, limit=limit, rules=rules)
    return PastHorizon(said=say_horizon(day, rules), slots=result.slots, providers=result.providers,
                       provider=provider)


def _hours_text(schedule: availability.Schedule, weekday: int) -> str:
    return " and ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in schedule.hours.get(weekday, []))


def _refusal(problem: Problem, *, provider: Provider, start: datetime, rules: Rules,
             schedule: availability.Schedule) -> str:
    day = selectors.local(start)
    if problem is Problem.PAST:
        return f"{say_day(start)} at {say_time(start)} has already passed."
    if problem is Problem.TOO_SOON:
        hours, minutes = divmod(int(rules.notice.total_seconds() // 60), 60)
        notice = f"{hours} hour{'s' * (hours != 1)}" if hours and not minutes else f"{hours * 60 + minutes} minutes"
        return f"Bookings need at least {notice} notice, so {say_time(start)} today is too soon."
    if problem is Problem.BEYOND_HORIZON:
        return say_horizon(day.date(), rules)
    if problem is Problem.INACTIVE:
        return f"{provider.name} is not taking appointments at the moment."
    if problem is Problem.CLOSED:
        reason, whole_clinic = schedule.closure_on(day.date())
        who = "The clinic is closed" if whole_clinic else f"{provider.name} is away"
        return f"{who} on {say_day(start)} ({reason})."
    if problem is Problem.NOT_WORKING_DAY:
        return f"{provider.name} is not in on {date_format(day, 'l')}s."
    if problem is Problem.OUTSIDE_HOURS:
        return (
            f"{provider.name} sees patients on {date_format(day, 'l')}s "
            f"{_hours_text(schedule, day.weekday())}; {say_time(start)} is outside those hours."
        )
    if problem is Problem.OFF_GRID:
        return off_grid_refusal(provider=provider, start=start, rules=rules, schedule=schedule)
    if problem is Problem.TAKEN:
        return f"{provider.name} is already booked at {say_time(start)} on {say_day(start)}."
    raise AssertionError(problem)


def off_grid_refusal(*, provider: Provider, start: datetime, rules: Rules,
                     schedule: availability.Schedule) -> str:
    """"10:07 is not on Dr Khan's 20-minute grid; the nearest times are 10:00 and 10:20."

    Names the grid's times either side, free or not: the free ones follow in
    the refusal's "nearest free times".
    """
    minutes = int(schedule.length.total_seconds() // 60)
    near = [say_time(t) for t in availability.grid_neighbours(schedule, start, rules.tz)]
    said = say_time(start) + (f":{start.second:02d}" if start.second else "")
    message = f"{said} is not on {provider.name}'s {minutes}-minute grid"
    if len(near) == 2:
        return f"{message}; the nearest times are {near[0]} and {near[1]}."
    if near:
        return f"{message}; the nearest time is {near[0]}."
    return f"{message}."


def _refuse(problem: Problem, *, provider: Provider, start: datetime, rules: Rules,
            schedule: availability.Schedule) -> BookingError:
    if problem is Problem.BEYOND_HORIZON:
        horizon = past_horizon(day=selectors.local(start).date(), provider=provider, limit=3, now=rules.now)
        return BookingError(horizon.message, code=problem.value, alternatives=horizon.slots)
    message = _refusal(problem, provider=provider, start=start, rules=rules, schedule=schedule)
    alternatives: list[Slot] = []
    if problem is not Problem.INACTIVE:
        day = max(selectors.local(start).date(), rules.now.astimezone(rules.tz).date())
        alternatives = selectors.find_free_times(
            provider=provider, day=day, at=selectors.local(start).time(), limit=3, rules=rules
        ).slots
    if alternatives:
        message += f" The nearest free times are {say_slots(alternatives)}."
    elif problem is not Problem.INACTIVE:
        message += f" {provider.name} has no free times in the next weeks."
    return BookingError(message, code=problem.value, alternatives=alternatives)


def day_refusal(*, provider: Provider, day: date, now: datetime | None = None) -> str:
    """Why `provider` has no free time on `day`, in the words a booking refusal uses;
    "" when the day has free times.

    The dashboard's time picker shows it when selectors.free_slots_for_day
    comes back empty, so the receptionist learns "Dr Khan is not in on
    Sundays" before trying to book rather than after.
    """
    rules = selectors.booking_rules(now=now)
    [schedule] = selectors.schedules_for(selectors.providers_with_hours([provider.pk]), day, day)
    today = rules.now.astimezone(rules.tz).date()
    intervals = schedule.hours.get(day.weekday(), [])
    probe = datetime.combine(day, intervals[0][0] if intervals else time(12), tzinfo=rules.tz)
    if day < today:
        return f"{say_day(probe)} has already passed."
    problem = availability.day_problem(schedule, day, rules)
    if problem:
        return _refuse(problem, provider=provider, start=probe, rules=rules, schedule=schedule).message
    if availability.free_slots_on(schedule, day, rules):
        return ""
    if day == today:
        message = f"{provider.name} has no free times left today."
    else:
        message = f"{provider.name} is fully booked on {say_day(probe)}."
    alternatives = selectors.find_free_times(provider=provider, day=day, limit=3, rules=rules).slots
    if alternatives:
        message += f" The nearest free times are {say_slots(alternatives)}."
    return message


# --- checks -------------------------------------------------------------------

def _require_aware(start: datetime) -> None:
    if timezone.is_naive(start):
        raise ValueError("appointment times must be timezone-aware")
    try:
        # Year 1 or 9999 would overflow the day's arithmetic (and UTC) further
        # on; the booking horizon itself is the availability rule's to refuse.
        hygiene.check_day(start.replace(tzinfo=None), latest=hygiene.NO_OVERFLOW_DAY)
    except hygiene.Refused as exc:
        raise BookingError(exc.message, code="date_range") from None


def _clean_reason(reason: str) -> str:
    try:
        return hygiene.clean_reason(reason)
    except hygiene.Refused as exc:
        raise BookingError(exc.message, code="reason") from None


def _lock_provider(provider: Provider) -> Provider:
    # Row lock on PostgreSQL: bookings for one provider queue here, so the
    # check below sees every earlier booking. SQLite has no row locks but
    # runs each transaction IMMEDIATE (settings), which serialises writers.
    return Provider.objects.select_for_update().get(pk=provider.pk)


def _check_slot(*, provider: Provider, start: datetime, rules: Rules,
                moving: Appointment | None = None, off_grid: bool = False) -> datetime:
    """Raise BookingError unless `start` can be booked; return the end time."""
    _require_aware(start)
    if off_grid and (start.second or start.microsecond):
        # Off the grid on purpose is still to the minute: 10:07, not 10:07:30.
        raise BookingError(
            f"Appointments start on a whole minute; {say_time(start)}:{start.second:02d} has seconds. "
            f"Enter the time as HH:MM, for example {say_time(start)}.",
            code="seconds",
        )
    day = selectors.local(start).date()
    [schedule] = selectors.schedules_for(
        selectors.providers_with_hours([provider.pk]),
        day,
        day,
        exclude_appointment_id=moving.pk if moving else None,
    )
    problem = availability.slot_problem(schedule, start, rules, off_grid=off_grid)
    if problem:
        raise _refuse(problem, provider=provider, start=start, rules=rules, schedule=schedule)
    return start + schedule.length


def _save(appointment: Appointment, *, action: str) -> Appointment:
    try:
        with transaction.atomic():
            appointment.save()
    except IntegrityError:
        # Our checks passed, so another transaction took the slot in the
        # meantime; the database constraint caught it.
        raise BookingError(
            f"{appointment.provider.name} was just booked at {say_time(appointment.start)} "
            f"on {say_day(appointment.start)} by someone else. Please pick another time.",
            code=Problem.TAKEN.value,
        ) from None
    _announce(appointment, action)
    return appointment


def _announce(appointment: Appointment, action: str) -> None:
    transaction.on_commit(
        lambda: appointment_changed.send(sender=Appointment, appointment=appointment, action=action)
    )


# --- services -------------------------------------------------------------

def slot_refusal(*, provider: Provider, start: datetime, now: datetime | None = None) -> BookingError | None:
    """Why `start` cannot be booked with `provider`, or None. Reads only, and looks for no alternatives.

    For interfaces that explain before they book (the phone agent offering
    times it found itself); the write re-checks with the same rule.
    """
    _require_aware(start)
    rules = selectors.booking_rules(now=now)
    day = selectors.local(start).date()
    [schedule] = selectors.schedules_for(selectors.providers_with_hours([provider.pk]), day, day)
    problem = availability.slot_problem(schedule, start, rules)
    if problem is None:
        return None
    return BookingError(_refusal(problem, provider=provider, start=start, rules=rules, schedule=schedule),
                        code=problem.value)


def appointment_book(
    *,
    patient: Patient,
    provider: Provider,
    start: datetime,
    reason: str = "",
    source: str = Appointment.Source.DASHBOARD,
    status: str = Status.BOOKED,
    off_grid: bool = False,
    now: datetime | None = None,
) -> Appointment:
    """Book `patient` with `provider` at `start` for the provider's appointment length.

    `start` must be on the provider's slot grid unless `off_grid`: staff
    choosing another time on purpose in the dashboard or the admin.
    """
    if status not in (Status.BOOKED, Status.PENDING):
        raise BookingError("A new appointment is either booked or pending.", code="status")
    _staff_only_off_grid(source, off_grid)
    reason = _clean_reason(reason)
    with transaction.atomic():
        provider = _lock_provider(provider)
        rules = selectors.booking_rules(now=now)
        end = _check_slot(provider=provider, start=start, rules=rules, off_grid=off_grid)
        appointment = Appointment(
            patient=patient, provider=provider, start=start, end=end,
            status=status, reason=reason, source=source,
        )
        return _save(appointment, action="booked")


def _staff_only_off_grid(source: str, off_grid: bool) -> None:
    # The phone agent books only the grid times it offered.
    if off_grid and source == Appointment.Source.PHONE:
        raise ValueError("the phone agent books only times on the provider's grid")


def _not_open(appointment: Appointment, doing: str) -> BookingError:
    if appointment.status == Status.ARRIVED:
        return BookingError(
            f"The patient has already arrived for this appointment, so it can no longer be {doing}.",
            code="status",
        )
    return BookingError(
        f"This appointment is {appointment.get_status_display().lower()} and cannot be {doing}.", code="status"
    )


def appointment_reschedule(
    *,
    appointment: Appointment,
    start: datetime,
    provider: Provider | None = None,
    off_grid: bool = False,
    now: datetime | None = None,
) -> Appointment:
    """Move an open appointment to `start` (and optionally another provider).

    The appointment keeps its identity and becomes Rescheduled; its old slot
    is freed by the same write. `start` must be on the grid unless `off_grid`
    (staff only), as for a booking.
    """
    provider = provider or appointment.provider
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().select_related("patient").get(pk=appointment.pk)
        if appointment.status not in OPEN_STATUSES:
            raise _not_open(appointment, "moved")
        rules = selectors.booking_rules(now=now)
        if appointment.start < rules.now:
            raise BookingError("This appointment has already started and cannot be moved.", code="status")
        provider = _lock_provider(provider)
        end = _check_slot(provider=provider, start=start, rules=rules, moving=appointment, off_grid=off_grid)
        appointment.provider, appointment.start, appointment.end = provider, start, end
        appointment.status = Status.RESCHEDULED
        # The patient confirmed the old time, not this one.
        appointment.confirmed_at, appointment.confirmed_via = None, None
        return _save(appointment, action="rescheduled")


def appointment_cancel(*, appointment: Appointment, now: datetime | None = None) -> Appointment:
    """Cancel an open appointment. The row stays, marked Cancelled, and its slot is free."""
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().select_related("patient", "provider").get(pk=appointment.pk)
        if appointment.status == Status.CANCELLED:
            raise BookingError("This appointment is already cancelled.", code="status")
        if appointment.status == Status.ARRIVED:
            raise _not_open(appointment, "cancelled")
        if appointment.status not in OPEN_STATUSES:
            raise BookingError(
                f"This appointment is {appointment.get_status_display().lower()}; "
                "only upcoming appointments can be cancelled.",
                code="status",
            )
        appointment.status = Status.CANCELLED
        appointment.cancelled_at = now or timezone.now()
        return _save(appointment, action="cancelled")


def appointment_confirm(
    appointment: Appointment | int, *, by: str, now: datetime | None = None
) -> Appointment:
    """Record that the patient will come: on a reminder call, or told to the desk.

    `by` is the interface (an Appointment.Source). A Pending booking becomes
    Booked. Confirming twice keeps the first time. Cancelled, finished or
    past appointments are refused with a message for the caller or the desk.
    """
    if by not in Appointment.Source.values:
        raise ValueError(f"unknown source {by!r}")
    now = now or timezone.now()
    pk = appointment if isinstance(appointment, int) else appointment.pk
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().select_related("patient", "provider").get(pk=pk)
        if appointment.status not in OPEN_STATUSES:
            raise _not_open(appointment, "confirmed")
        if appointment.start <= now:
            raise BookingError(
                f"This appointment was at {say_time(appointment.start)} on {say_day(appointment.start)}; "
                "only upcoming appointments can be confirmed.",
                code="status",
            )
        if appointment.confirmed_at:
            return appointment
        appointment.confirmed_at, appointment.confirmed_via = now, by
        if appointment.status == Status.PENDING:
            appointment.status = Status.BOOKED
        appointment.save(update_fields=["confirmed_at", "confirmed_via", "status", "updated_at"])
        _announce(appointment, "confirmed")
        return appointment


# --- status changes -------------------------------------------------------------

# Which status may follow which, for every interface: the dashboard's
# one-click actions and their Undo, the edit form, the admin and its actions.
# Time rules on top of it are in `transition_problem`. Rescheduled is reached
# by moving (appointment_reschedule), or by undoing a later step.
_BACK_TO_OPEN = frozenset({Status.BOOKED, Status.PENDING, Status.RESCHEDULED})
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.BOOKED: frozenset({Status.PENDING, Status.ARRIVED, Status.COMPLETED, Status.NO_SHOW, Status.CANCELLED}),
    Status.PENDING: frozenset({Status.BOOKED, Status.ARRIVED, Status.COMPLETED, Status.NO_SHOW, Status.CANCELLED}),
    Status.RESCHEDULED: frozenset({Status.BOOKED, Status.PENDING, Status.ARRIVED, Status.COMPLETED,
                                   Status.NO_SHOW, Status.CANCELLED}),
    # In the waiting room: seen, or the check-in undone. Not a no-show (they
    # came) and not cancelled by phone or by a slip of the desk.
    Status.ARRIVED: _BACK_TO_OPEN | {Status.COMPLETED},
    # Corrections: undo, one outcome for the other, or (no-show) the patient
    # turned up late after all.
    Status.COMPLETED: _BACK_TO_OPEN | {Status.ARRIVED, Status.NO_SHOW},
    Status.NO_SHOW: _BACK_TO_OPEN | {Status.ARRIVED, Status.COMPLETED},
    # Restoring takes the slot again, so it must still be free.
    Status.CANCELLED: _BACK_TO_OPEN,
}

# The status changes the desk gets as one-click buttons, in the order shown, with their words.
ONE_CLICK = {Status.ARRIVED: "Arrived", Status.COMPLETED: "Completed", Status.NO_SHOW: "No-show",
             Status.CANCELLED: "Cancel"}


def _transition_blocked(*, current: str, target: str, start: datetime, now: datetime) -> str:
    """Which rule stops `current` -> `target` now, as a short key; "" if none.

    The rules without their messages: status_actions asks this for every
    appointment on a page (1,658 on a busy calendar day), and formatting a
    refusal nobody reads cost most of that page's time.
    """
    if target == current:
        return ""
    if target not in TRANSITIONS.get(current, ()):
        return "rescheduled" if target == Status.RESCHEDULED else "not_allowed"
    if target == Status.ARRIVED and current in (*OPEN_STATUSES, Status.NO_SHOW):
        day, today = selectors.local(start).date(), selectors.local(now).date()
        if day > today:
            return "future_day"
        if day < today:
            return "past_day"
    if target in (Status.COMPLETED, Status.NO_SHOW) and current in OPEN_STATUSES and start > now:
        return "not_started"
    return ""


def transition_problem(*, current: str, target: str, start: datetime, now: datetime) -> str:
    """Why an appointment starting at `start` cannot go from `current` to `target` now; "" if it can."""
    blocked = _transition_blocked(current=current, target=target, start=start, now=now)
    if blocked == "rescheduled":
        return "Move the appointment to a new time to reschedule it."
    if blocked == "not_allowed":
        return (f"An appointment that is {Status(current).label.lower()} cannot be marked "
                f"{Status(target).label.lower()}.")
    if blocked == "future_day":
        return f"This appointment is on {say_day(start)}; patients check in on the day."
    if blocked == "past_day":
        return f"This appointment was on {say_day(start)}; mark it completed instead."
    if blocked == "not_started":
        return (f"This appointment has not started yet, so it cannot be marked "
                f"{Status(target).label.lower()}.")
    return ""


# Corrections (a completed visit reopened, one outcome for the other) stay
# in TRANSITIONS for Undo, the edit form and the admin, but get no button.
_BUTTONS_FROM = {Status.COMPLETED: (), Status.NO_SHOW: (Status.ARRIVED,)}


def status_actions(*, status: str, start: datetime, now: datetime) -> list[tuple[str, str]]:
    """The one-click status changes open to an appointment right now: [(status, button label)]."""
    targets = _BUTTONS_FROM.get(status, tuple(ONE_CLICK))
    return [(t, ONE_CLICK[t]) for t in targets if t in TRANSITIONS.get(status, ()) and
            not _transition_blocked(current=status, target=t, start=start, now=now)]


def _check_restore(appointment: Appointment, *, now: datetime) -> None:
    """A cancelled appointment may come back only while its slot is free and the day still open.

    Notice and "already passed" do not apply: an Undo seconds after a
    cancellation must work even within the notice period.
    """
    provider = _lock_provider(appointment.provider)
    rules = selectors.booking_rules(now=min(now, appointment.start))
    rules = Rules(now=rules.now, notice=timedelta(0), horizon_days=rules.horizon_days, tz=rules.tz)
    # Its own time, on the grid or not: it was accepted when it was booked.
    _check_slot(provider=provider, start=appointment.start, rules=rules, moving=appointment, off_grid=True)


def appointment_set_status(
    *, appointment: Appointment, status: str, now: datetime | None = None
) -> Appointment:
    """Change the status along TRANSITIONS: check in, mark completed or no-show, cancel, confirm, restore, undo."""
    if status not in Status.values:
        # Quoted short: the value came from a form or a model's tool call.
        raise BookingError(f"{str(status)[:20]!r} is not an appointment status.", code="status")
    now = now or timezone.now()
    if status == Status.CANCELLED:
        return appointment_cancel(appointment=appointment, now=now)
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().select_related("patient", "provider").get(pk=appointment.pk)
        previous = appointment.status
        if previous == status:
            return appointment
        problem = transition_problem(current=previous, target=status, start=appointment.start, now=now)
        if problem:
            raise BookingError(problem, code="status")
        if previous == Status.CANCELLED:
            _check_restore(appointment, now=now)
            appointment.cancelled_at = None
        if status == Status.ARRIVED:
            # Undoing "completed" keeps the time they really came in.
            if previous != Status.COMPLETED or appointment.arrived_at is None:
                appointment.arrived_at = now
        elif status != Status.COMPLETED:
            appointment.arrived_at = None
        appointment.status = status
        return _save(appointment, action="status")


def appointment_edit(
    *,
    appointment: Appointment,
    provider: Provider,
    start: datetime,
    status: str,
    reason: str = "",
    off_grid: bool = False,
    now: datetime | None = None,
) -> Appointment:
    """One edit from a form: move it if the time or provider changed, then status and reason.

    All or nothing: a refused move leaves the status and reason untouched too.
    An unchanged time stays where it is, on the grid or not; a new one must be
    on the grid unless `off_grid`.
    """
    reason = _clean_reason(reason)
    with transaction.atomic():
        original_status = appointment.status
        if provider.pk != appointment.provider_id or start != appointment.start:
            appointment = appointment_reschedule(appointment=appointment, start=start, provider=provider,
                                                 off_grid=off_grid, now=now)
        if status != original_status:
            appointment = appointment_set_status(appointment=appointment, status=status, now=now)
        if reason != appointment.reason:
            appointment.reason = reason
            appointment.save(update_fields=["reason", "updated_at"])
            _announce(appointment, "updated")
        return appointment


def appointment_delete(*, appointment: Appointment) -> None:
    """Remove an appointment entered by mistake (cancelling keeps the history; this does not)."""
    with transaction.atomic():
        pk = appointment.pk
        appointment.delete()
        appointment.pk = pk
        _announce(appointment, "deleted")

