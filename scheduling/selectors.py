"""Reads for scheduling: feed the availability engine from the ORM, list appointments.

Query counts are bounded and do not grow with the data: a one-provider search
costs the clinic profile, providers with their hours (two queries), then two
per block of seven days (closures, busy times); an any-provider search the
same, with blocks of one day, then two, four, seven. One block is usually enough.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from clinic.models import ClinicProfile
from scheduling import availability
from scheduling.availability import PartOfDay, Rules, Schedule, Slot
from scheduling.models import (
    MAX_APPOINTMENT_MINUTES,
    OPEN_STATUSES,
    SLOT_HOLDING_STATUSES,
    Appointment,
    Closure,
    Provider,
    WorkingHours,
)

# How many days one block of a search reads at once, and how far a search for
# alternatives looks before it gives up.
SEARCH_BLOCK_DAYS = 7
SEARCH_MAX_DAYS = 28


def clinic_tz():
    return timezone.get_default_timezone()


def booking_rules(*, now: datetime | None = None, profile: ClinicProfile | None = None) -> Rules:
    profile = profile or ClinicProfile.load()
    return Rules(
        now=now or timezone.now(),
        notice=timedelta(minutes=profile.min_notice_minutes),
        horizon_days=profile.booking_horizon_days,
        tz=clinic_tz(),
    )


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The instants that start `first` and end `last` in the clinic's zone."""
    tz = clinic_tz()
    return (
        datetime.combine(first, time.min, tzinfo=tz),
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz),
    )


def _closures(provider_ids: list[int], first: date, last: date) -> dict:
    """{provider_id or None (whole clinic): [(first_day, last_day, reason, whole_clinic)]} touching first..last."""
    closures = defaultdict(list)
    for c in Closure.objects.filter(start_date__lte=last, end_date__gte=first).filter(
        Q(provider__isnull=True) | Q(provider_id__in=provider_ids)
    ):
        closures[c.provider_id].append((c.start_date, c.end_date, c.reason, c.provider_id is None))
    return closures


def schedules_for(
    providers: list[Provider],
    first: date,
    last: date,
    *,
    exclude_appointment_id: int | None = None,
) -> list[Schedule]:
    """Schedules of `providers` (from `providers_with_hours`) for the days first..last."""
    ids = [p.pk for p in providers]
    closures = _closures(ids, first, last)
    start, end = day_bounds(first, last)
    # A margin on the left: an appointment that starts before midnight may
    # still run into the first day, but never by more than the longest one.
    busy_rows = Appointment.objects.filter(
        provider_id__in=ids,
        status__in=SLOT_HOLDING_STATUSES,
        start__lt=end,
        start__gte=start - timedelta(minutes=MAX_APPOINTMENT_MINUTES),
        end__gt=start,
    )
    if exclude_appointment_id:
        busy_rows = busy_rows.exclude(pk=exclude_appointment_id)
    busy = defaultdict(list)
    for provider_id, b_start, b_end in busy_rows.values_list("provider_id", "start", "end"):
        busy[provider_id].append((b_start, b_end))
    schedules = []
    for p in providers:
        schedules.append(
            Schedule(
                provider_id=p.pk,
                length=timedelta(minutes=p.appointment_minutes),
                hours=p.weekly_hours,
                closures=closures[None] + closures[p.pk],
                busy=busy[p.pk],
                active=p.is_active,
            )
        )
    return schedules


def providers_with_hours(provider_ids: list[int] | None = None) -> list[Provider]:
    """Providers (the active ones, or those asked for) with `weekly_hours` set:
    {weekday: [(start, end), ...]} in time order, as `schedules_for` needs."""
    qs = Provider.objects.all()
    if provider_ids is None:
        qs = qs.filter(is_active=True)
    else:
        qs = qs.filter(pk__in=provider_ids)
    providers = list(qs.order_by("name", "pk"))
    # Plain rows, not model instances: an any-provider search reads every
    # provider's week, and building hundreds of WorkingHours objects per
    # search cost more than the search itself.
    hours: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    rows = WorkingHours.objects.filter(provider_id__in=[p.pk for p in providers]).order_by("start_time")
    for provider_id, weekday, start, end in rows.values_list("provider_id", "weekday", "start_time", "end_time"):
        hours[provider_id][weekday].append((start, end))
    for p in providers:
        p.weekly_hours = dict(hours[p.pk])
    return providers


@dataclass(frozen=True)
class FreeTimes:
    """The answer to "find free times": the exact slot when free, else alternatives."""

    requested_free: bool
    slots: list[Slot]
    providers: dict[int, Provider]

    def provider(self, slot: Slot) -> Provider:
        return self.providers[slot.provider_id]


def find_free_times(
    *,
    provider: Provider | None = None,
    day: date | None = None,
    at: time | None = None,
    part_of_day: PartOfDay | None = None,
    limit: int = 5,
    rules: Rules | None = None,
) -> FreeTimes:
    """Free times for one provider or any active one.

    With a day and a time: that slot if it is free, then the nearest others.
    With no day: the first free times from now on ("the first free").
    """
    rules = rules or booking_rules()
    providers = providers_with_hours([provider.pk] if provider else None)
    by_id = {p.pk: p for p in providers}
    today = rules.now.astimezone(rules.tz).date()
    first_day = max(day or today, today)

    slots: list[Slot] = []
    requested_free = False
    block_start = first_day
    last_day = min(first_day + timedelta(days=SEARCH_MAX_DAYS - 1), rules.last_day)
    # Any provider: among many diaries the first day alone usually holds
    # enough free times, and a week of every diary would be read for nothing.
    # When it does not (a Sunday, a holiday, a full day) the blocks grow, one
    # day, two, four, then weeks: the day after is read, not the week after.
    span = 1 if provider is None else SEARCH_BLOCK_DAYS
    while len(slots) < limit and block_start <= last_day:
        block_end = min(block_start + timedelta(days=span - 1), last_day)
        schedules = schedules_for(providers, block_start, block_end)
        if block_start == day and at:
            # The requested time itself when it is free, checked with the
            # same rule the write uses (so never a time off the slot grid:
            # asking for 10:07 offers the grid's nearest times instead).
            wanted = datetime.combine(day, at, tzinfo=rules.tz)
            for s in schedules:
                if availability.slot_problem(s, wanted, rules) is None:
                    slots.append(Slot(s.provider_id, wanted, wanted + s.length))
                    requested_free = True
                    break
        days = [block_start + timedelta(days=i) for i in range((block_end - block_start).days + 1)]
        for slot in availability.nearest_slots(
            schedules, days, rules, at=at, part_of_day=part_of_day, limit=limit + 1
        ):
            if slot not in slots and len(slots) < limit:
                slots.append(slot)
        block_start = block_end + timedelta(days=1)
        span = min(span * 2, SEARCH_BLOCK_DAYS)
    return FreeTimes(requested_free=requested_free, slots=slots, providers=by_id)


def last_free_times(*, provider: Provider | None = None, limit: int = 4,
                    rules: Rules | None = None) -> tuple[date, FreeTimes]:
    """The last day bookings are taken, and the free times nearest before it (for a request past it).

    Looks at the final week before the horizon, then further back a week at
    a time (at most about two months): a full last week still has an answer.
    """
    rules = rules or booking_rules()
    last = rules.last_day
    today = rules.now.astimezone(rules.tz).date()
    result = FreeTimes(requested_free=False, slots=[], providers={})
    for weeks in range(1, 10):
        start = max(last - timedelta(days=7 * weeks - 1), today)
        result = find_free_times(provider=provider, day=start, limit=limit, rules=rules)
        if result.slots or start == today:
            break
    return last, result


def free_slots_for_day(*, provider: Provider, day: date, exclude_appointment_id: int | None = None) -> list[datetime]:
    """Every bookable start for one provider on one day (the dashboard's time picker)."""
    rules = booking_rules()
    [schedule] = schedules_for(
        providers_with_hours([provider.pk]), day, day, exclude_appointment_id=exclude_appointment_id
    )
    return availability.free_slots_on(schedule, day, rules)


def appointments_between(first: date, last: date) -> QuerySet[Appointment]:
    start, end = day_bounds(first, last)
    return Appointment.objects.filter(start__gte=start, start__lt=end).select_related("patient", "provider")


def upcoming_for_patient(patient_id: int, *, now: datetime | None = None) -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(patient_id=patient_id, status__in=OPEN_STATUSES, start__gte=now or timezone.now())
        .select_related("provider")
        .order_by("start")
    )


def local(dt: datetime) -> datetime:
    return timezone.localtime(dt, clinic_tz())



# --- the calendar ---------------------------------------------------------------

# The calendar's grid has one row per five minutes; static/css/calendar-grid.css
# has a class for every row start (r1..r288) and span (s1..s288).
CALENDAR_STEP_MINUTES = 5
CALENDAR_DEFAULT_HOURS = (8, 18)


@dataclass
class CalendarBlock:
    """One appointment on the grid, as plain values ready to print."""

    id: int
    start: datetime
    end: datetime
    status: str
    status_label: str
    patient_id: int
    patient_name: str
    reason: str
    time: str
    place: str  # the row classes, "r13 s6"
    confirmed: bool = False  # the patient said they will come


@dataclass
class CalendarColumn:
    """One provider on one day."""

    provider: Provider
    day: date
    is_today: bool
    note: str = ""  # why nobody can book here: closed, not working
    hours: list[str] = field(default_factory=list)  # "09:00-13:00"
    shaded: list[str] = field(default_factory=list)  # places of the working hours
    breaks: list[tuple[str, str]] = field(default_factory=list)  # (place, "13:00-14:00")
    blocks: list[CalendarBlock] = field(default_factory=list)
    free: list = field(default_factory=list)  # (place, "HH:MM") once placed


@dataclass
class CalendarGrid:
    columns: list[CalendarColumn]
    first_minute: int
    rows: int
    hour_marks: list[tuple[str, str]]  # (place, "09:00")
    now_place: str  # "" when now is not on the grid
    now_minute: int  # the clinic's clock, minutes since midnight
    last_day: date  # the booking horizon's last day

    @property
    def last_minute(self) -> int:
        return self.first_minute + self.rows * CALENDAR_STEP_MINUTES


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def calendar_grid(*, days: list[date], provider_ids: list[int] | None = None,
                  now: datetime | None = None) -> CalendarGrid:
    """Columns of providers x days with hours, breaks, closures, appointments and free times.

    Five queries whatever the number of appointments: the clinic profile,
    providers and their hours, closures, and the appointments (with the
    patient's name) of the days. Free times come from the availability
    engine over those same rows, so the grid offers exactly what a booking
    would accept.
    """
    rules = booking_rules(now=now)
    tz = rules.tz
    providers = providers_with_hours(provider_ids)
    first, last = min(days), max(days)
    ids = [p.pk for p in providers]
    closures = _closures(ids, first, last)
    start, end = day_bounds(first, last)
    rows = (
        Appointment.objects.filter(
            provider_id__in=ids, status__in=SLOT_HOLDING_STATUSES, start__lt=end,
            start__gte=start - timedelta(minutes=MAX_APPOINTMENT_MINUTES), end__gt=start,
        )
        .order_by("start", "id")
        .values_list("id", "provider_id", "start", "end", "status", "reason", "patient_id", "patient__full_name",
                     "confirmed_at")
    )
    labels = dict(Appointment.Status.choices)
    busy = defaultdict(list)
    blocks = defaultdict(list)
    for pk, provider_id, b_start, b_end, status, reason, patient_id, name, confirmed_at in rows:
        busy[provider_id].append((b_start, b_end))
        local_start, local_end = b_start.astimezone(tz), b_end.astimezone(tz)
        blocks[provider_id, local_start.date()].append(CalendarBlock(
            id=pk, start=local_start, end=local_end, status=status, status_label=labels.get(status, status),
            patient_id=patient_id, patient_name=name, reason=reason,
            time=f"{local_start:%H:%M}–{local_end:%H:%M}", place="", confirmed=confirmed_at is not None,
        ))

    today = rules.now.astimezone(tz).date()
    columns = []
    intervals_of: list[list[tuple[time, time]]] = []  # per column, placed once the first row is known
    for p in providers:
        schedule = Schedule(
            provider_id=p.pk, length=timedelta(minutes=p.appointment_minutes), hours=p.weekly_hours,
            closures=closures[None] + closures[p.pk], busy=busy[p.pk], active=p.is_active,
        )
        for day in days:
            column = CalendarColumn(provider=p, day=day, is_today=day == today,
                                    blocks=blocks.get((p.pk, day), []))
            intervals = schedule.hours.get(day.weekday(), [])
            closure = schedule.closure_on(day)
            if closure:
                reason, whole_clinic = closure
                column.note = f"{'Clinic closed' if whole_clinic else 'Away'}: {reason}"
            elif not intervals:
                column.note = f"Not in on {day:%A}s"
            elif not p.is_active:
                column.note = "Not taking appointments"
            column.hours = [f"{a:%H:%M}–{b:%H:%M}" for a, b in intervals]
            column.free = availability.free_slots_on(schedule, day, rules)
            columns.append(column)
            intervals_of.append(intervals)

    # The grid runs over everyone's hours and every appointment, in whole hours.
    starts = [_minutes(a) for intervals in intervals_of for a, _ in intervals]
    ends = [_minutes(b) for intervals in intervals_of for _, b in intervals]
    for c in columns:
        for b in c.blocks:
            starts.append(_minutes(b.start.time()))
            ends.append(_minutes(b.end.time()) if b.end.date() == b.start.date() else 24 * 60)
    first_minute = min(starts, default=CALENDAR_DEFAULT_HOURS[0] * 60) // 60 * 60
    last_minute = min(-(-max(ends, default=CALENDAR_DEFAULT_HOURS[1] * 60) // 60) * 60, 24 * 60)
    step = CALENDAR_STEP_MINUTES

    def place(a: int, b: int) -> str:
        a, b = max(a, first_minute), min(b, last_minute)
        return f"r{(a - first_minute) // step + 1} s{max(1, -(-(b - a) // step))}"

    for c, intervals in zip(columns, intervals_of):
        for a, b in intervals:
            c.shaded.append(place(_minutes(a), _minutes(b)))
        for (_, b1), (a2, _) in zip(intervals, intervals[1:]):
            c.breaks.append((place(_minutes(b1), _minutes(a2)), f"{b1:%H:%M}–{a2:%H:%M}"))
        minutes = c.provider.appointment_minutes
        free = [t.astimezone(tz) for t in c.free]
        c.free = [(place(_minutes(t.time()), _minutes(t.time()) + minutes), f"{t:%H:%M}") for t in free]
        for b in c.blocks:
            a = _minutes(b.start.time())
            b.place = place(a, _minutes(b.end.time()) if b.end.date() == b.start.date() else 24 * 60)
    hour_marks = [(place(m, m + 60), f"{m // 60:02d}:00") for m in range(first_minute, last_minute, 60)]
    now_local = rules.now.astimezone(tz)
    now_minute = _minutes(now_local.time())
    now_place = ""
    if today in days and first_minute <= now_minute < last_minute:
        now_place = f"r{(now_minute - first_minute) // step + 1}"
    return CalendarGrid(columns=columns, first_minute=first_minute,
                        rows=(last_minute - first_minute) // step, hour_marks=hour_marks, now_place=now_place,
                        now_minute=now_minute, last_day=rules.last_day)


# --- the clinic's opening hours ------------------------------------------------------

# How far ahead "when do you open next?" looks before it says it does not know.
OPENING_LOOKAHEAD_DAYS = 31


@dataclass(frozen=True)
class ClinicOpen:
    """Whether the clinic is open at `at`, and when that changes.

    The clinic is open while at least one active provider is working (by the
    weekly hours) and neither the whole clinic nor every working provider is
    away. `closes_at` is set while open; `opens_at` while closed (None when
    nothing opens within OPENING_LOOKAHEAD_DAYS); `closure` is the reason of
    a whole-clinic closure on that day, if any.
    """

    at: datetime
    is_open: bool
    closes_at: datetime | None = None
    opens_at: datetime | None = None
    closure: str = ""


def clinic_hours(first: date, last: date) -> dict[date, list[tuple[datetime, datetime]]]:
    """The clinic's open intervals for each day first..last: the union of the active
    providers' working hours, less their closures and the clinic's. Three queries."""
    return _opening(first, last)[0]


def clinic_open(at: datetime | None = None) -> ClinicOpen:
    """Is the clinic open at `at` (default now), and until or from when?

    For "are you open now?", "when do you open?", the after-hours greeting and
    the promise of a call back; reads a month of hours in three queries.
    """
    at = at or timezone.now()
    today = local(at).date()
    hours, clinic_closures = _opening(today, today + timedelta(days=OPENING_LOOKAHEAD_DAYS))
    closure = next((reason for first, last, reason in clinic_closures if first <= today <= last), "")
    for start, end in hours[today]:
        if start <= at < end:
            return ClinicOpen(at=at, is_open=True, closes_at=end, closure=closure)
    opens_at = next((start for day in sorted(hours) for start, _ in hours[day] if start > at), None)
    return ClinicOpen(at=at, is_open=False, opens_at=opens_at, closure=closure)


def _opening(first: date, last: date):
    tz = clinic_tz()
    providers = providers_with_hours()
    away: dict[int | None, list[tuple[date, date, str]]] = defaultdict(list)
    for c in Closure.objects.filter(start_date__lte=last, end_date__gte=first):
        away[c.provider_id].append((c.start_date, c.end_date, c.reason))

    def closed(provider_id: int | None, day: date) -> bool:
        return any(a <= day <= b for a, b, _ in away[provider_id])

    days: dict[date, list[tuple[datetime, datetime]]] = {}
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        intervals = [] if closed(None, day) else sorted(
            (datetime.combine(day, a, tzinfo=tz), datetime.combine(day, b, tzinfo=tz))
            for p in providers
            if not closed(p.pk, day)
            for a, b in p.weekly_hours.get(day.weekday(), [])
        )
        merged: list[tuple[datetime, datetime]] = []
        for start, end in intervals:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        days[day] = merged
    return days, away[None]
