"""The availability engine: pure functions on plain values, no database.

Everything that decides whether a time can be booked lives here, so that the
dashboard, the admin and the phone agent agree, and so that the rules can be
tested without a database. scheduling.selectors feeds it from the ORM;
scheduling.services calls `slot_problem` again inside the write transaction.

All datetimes are aware. Working hours are wall-clock times in the clinic's
zone, so slot grids are built in that zone and compared as instants.
"""

from __future__ import annotations

import bisect
import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Iterable, Sequence


class Problem(enum.Enum):
    """Why a time cannot be booked. Services turn these into sentences."""

    PAST = "past"
    TOO_SOON = "too_soon"
    BEYOND_HORIZON = "beyond_horizon"
    INACTIVE = "inactive"
    CLOSED = "closed"
    NOT_WORKING_DAY = "not_working_day"
    OUTSIDE_HOURS = "outside_hours"
    # Within the hours but between two slots of the provider's grid: booked,
    # it would leave gaps too short for anyone else on either side.
    OFF_GRID = "off_grid"
    TAKEN = "taken"


class PartOfDay(enum.Enum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"

    @property
    def window(self) -> tuple[time, time]:
        return {
            PartOfDay.MORNING: (time(0), time(12)),
            PartOfDay.AFTERNOON: (time(12), time(17)),
            PartOfDay.EVENING: (time(17), time.max),
        }[self]


@dataclass(frozen=True)
class Rules:
    """The clinic-wide limits on when a booking may start."""

    now: datetime
    notice: timedelta
    horizon_days: int
    tz: tzinfo

    @property
    def earliest(self) -> datetime:
        return self.now + self.notice

    @property
    def last_day(self) -> date:
        return self.now.astimezone(self.tz).date() + timedelta(days=self.horizon_days)


@dataclass
class Schedule:
    """One provider's inputs over a range of days."""

    provider_id: int
    length: timedelta
    # weekday (Monday=0) -> sorted [(start, end)] wall-clock intervals
    hours: dict[int, list[tuple[time, time]]]
    # [(first_day, last_day, reason, whole_clinic)]: the clinic's and this provider's
    closures: list[tuple[date, date, str, bool]] = field(default_factory=list)
    # [(start, end)] of appointments holding a slot, sorted by start
    busy: list[tuple[datetime, datetime]] = field(default_factory=list)
    active: bool = True

    def __post_init__(self):
        # Kept in UTC, as the database returns them: comparing two datetimes
        # of the same zone is plain arithmetic, while a slot in the clinic's
        # zone against a UTC time asks the zone for its offset every time
        # (about 30 times slower; thousands of times in an any-provider search).
        self.busy = sorted((b_start.astimezone(timezone.utc), b_end.astimezone(timezone.utc))
                           for b_start, b_end in self.busy)
        self._busy_starts = [b[0] for b in self.busy]

    def closure_on(self, day: date) -> tuple[str, bool] | None:
        """(reason, whole_clinic) of a closure covering `day`, or None."""
        for first, last, reason, whole_clinic in self.closures:
            if first <= day <= last:
                return reason, whole_clinic
        return None

    def is_free(self, start: datetime, end: datetime, *, ignore: tuple[datetime, datetime] | None = None) -> bool:
        # Busy intervals of one provider never overlap each other (the
        # database forbids it), so only the neighbours of `end` can clash.
        start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
        i = bisect.bisect_left(self._busy_starts, end)
        for b_start, b_end in self.busy[max(i - 2, 0) : i]:
            if (b_start, b_end) == ignore:
                continue
            if b_start < end and start < b_end:
                return False
        return True


@dataclass(frozen=True)
class Slot:
    provider_id: int
    start: datetime
    end: datetime


def day_grid(schedule: Schedule, day: date, tz: tzinfo) -> list[datetime]:
    """Every slot start on `day` from the provider's hours, free or not.

    The grid restarts at the start of each interval: with 20-minute slots and
    hours 09:00-12:00 and 13:30-17:00, the afternoon runs 13:30, 13:50, ...
    """
    starts = []
    for begin, finish in schedule.hours.get(day.weekday(), []):
        t = datetime.combine(day, begin, tzinfo=tz)
        stop = datetime.combine(day, finish, tzinfo=tz)
        while t + schedule.length <= stop:
            starts.append(t)
            t += schedule.length
    return starts


def on_grid(schedule: Schedule, start: datetime, tz: tzinfo) -> bool:
    """Whether `start` is one of the provider's slot starts (whole minutes, from an interval's start)."""
    return start in day_grid(schedule, start.astimezone(tz).date(), tz)


def grid_neighbours(schedule: Schedule, start: datetime, tz: tzinfo) -> list[datetime]:
    """The grid's slot starts just before and just after `start` on its day (one, two or none)."""
    starts = day_grid(schedule, start.astimezone(tz).date(), tz)
    i = bisect.bisect_left(starts, start)
    return starts[max(i - 1, 0) : i + 1]


def day_problem(schedule: Schedule, day: date, rules: Rules) -> Problem | None:
    """What closes the provider's whole `day` to bookings, or None.

    The day-level half of `slot_problem`, in the same order; the time-level
    checks (past, notice, hours, taken) stay there.
    """
    if day > rules.last_day:
        return Problem.BEYOND_HORIZON
    if not schedule.active:
        return Problem.INACTIVE
    if schedule.closure_on(day):
        return Problem.CLOSED
    if not schedule.hours.get(day.weekday()):
        return Problem.NOT_WORKING_DAY
    return None


def slot_problem(
    schedule: Schedule,
    start: datetime,
    rules: Rules,
    *,
    ignore: tuple[datetime, datetime] | None = None,
    off_grid: bool = False,
) -> Problem | None:
    """What stops `start` from being booked with this provider, or None.

    `ignore` is the appointment being moved, which must not block itself.
    `off_grid` lets a start between the grid's slots through: staff choosing
    such a time on purpose; the phone agent never passes it.
    """
    end = start + schedule.length
    local = start.astimezone(rules.tz)
    day = local.date()
    if start < rules.now:
        return Problem.PAST
    if start < rules.earliest:
        return Problem.TOO_SOON
    problem = day_problem(schedule, day, rules)
    if problem:
        return problem
    intervals = schedule.hours[day.weekday()]
    local_end = end.astimezone(rules.tz)
    if local_end.date() != day or not any(
        begin <= local.time() and local_end.time() <= finish for begin, finish in intervals
    ):
        return Problem.OUTSIDE_HOURS
    if not off_grid and not on_grid(schedule, start, rules.tz):
        return Problem.OFF_GRID
    if not schedule.is_free(start, end, ignore=ignore):
        return Problem.TAKEN
    return None


def free_slots_on(schedule: Schedule, day: date, rules: Rules) -> list[datetime]:
    """Bookable slot starts for one provider on one day, in order."""
    if day_problem(schedule, day, rules):
        return []
    earliest = rules.earliest.astimezone(timezone.utc)
    free = []
    for t in day_grid(schedule, day, rules.tz):
        utc = t.astimezone(timezone.utc)  # see Schedule.__post_init__
        if utc >= earliest and schedule.is_free(utc, utc + schedule.length):
            free.append(t)
    return free


def _closeness(t: datetime, at: time | None, part: PartOfDay | None, tz: tzinfo) -> tuple:
    """Sort key within a day: nearest to the wanted time, or inside the wanted part of day."""
    local = t.astimezone(tz)
    minutes = local.hour * 60 + local.minute
    if at is not None:
        return (abs(minutes - (at.hour * 60 + at.minute)), minutes)
    if part is not None:
        lo, hi = part.window
        lo_m, hi_m = lo.hour * 60 + lo.minute, hi.hour * 60 + hi.minute
        distance = 0 if lo_m <= minutes < hi_m else min(abs(minutes - lo_m), abs(minutes - hi_m))
        return (distance, minutes)
    return (0, minutes)


def nearest_slots(
    schedules: Sequence[Schedule],
    days: Iterable[date],
    rules: Rules,
    *,
    at: time | None = None,
    part_of_day: PartOfDay | None = None,
    limit: int = 5,
) -> list[Slot]:
    """Free slots for any of `schedules`, the first day first, nearest the wanted time.

    Days are taken in the order given (the requested day, then the ones after
    it); within a day, slots closest to `at` (or inside `part_of_day`) come
    first, ties going to the earlier time and then the provider order given.
    """
    found: list[Slot] = []
    for day in days:
        if day > rules.last_day:
            break
        candidates = [
            Slot(s.provider_id, t, t + s.length)
            for s in schedules
            for t in free_slots_on(s, day, rules)
        ]
        candidates.sort(key=lambda slot: _closeness(slot.start, at, part_of_day, rules.tz))
        found.extend(candidates[: limit - len(found)])
        if len(found) >= limit:
            break
    return found
