"""The availability engine on plain values: no database, no settings."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduling.availability import (
    PartOfDay, Problem, Rules, Schedule, Slot, day_grid, free_slots_on, grid_neighbours, nearest_slots,
    slot_problem,
)

TZ = ZoneInfo("Asia/Karachi")
MONDAY = date(2026, 11, 30)
WEEK = {d: [(time(9), time(13)), (time(14), time(17))] for d in range(5)}  # lunch 13-14


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=TZ)


def rules(now: datetime = None, notice_minutes: int = 60, horizon: int = 60) -> Rules:
    return Rules(now=now or at(MONDAY - timedelta(days=3), 10), notice=timedelta(minutes=notice_minutes),
                 horizon_days=horizon, tz=TZ)


def schedule(**kw) -> Schedule:
    return Schedule(provider_id=kw.pop("provider_id", 1), length=timedelta(minutes=30), hours=WEEK, **kw)


def test_a_free_slot_inside_hours_has_no_problem():
    assert slot_problem(schedule(), at(MONDAY, 9), rules()) is None
    assert slot_problem(schedule(), at(MONDAY, 16, 30), rules()) is None


@pytest.mark.parametrize(
    "start, expected",
    [
        (at(MONDAY, 13), Problem.OUTSIDE_HOURS),            # lunch break
        (at(MONDAY, 12, 45), Problem.OUTSIDE_HOURS),        # would run into lunch
        (at(MONDAY, 8, 30), Problem.OUTSIDE_HOURS),         # before opening
        (at(MONDAY, 16, 45), Problem.OUTSIDE_HOURS),        # would end after closing
        (at(MONDAY + timedelta(days=6), 10), Problem.NOT_WORKING_DAY),  # Sunday
    ],
)
def test_hours_and_working_days(start, expected):
    assert slot_problem(schedule(), start, rules()) is expected


def test_past_and_minimum_notice():
    now = at(MONDAY, 10)
    assert slot_problem(schedule(), at(MONDAY, 9, 30), rules(now)) is Problem.PAST
    assert slot_problem(schedule(), at(MONDAY, 10, 30), rules(now)) is Problem.TOO_SOON
    assert slot_problem(schedule(), at(MONDAY, 11), rules(now)) is None
    assert slot_problem(schedule(), at(MONDAY, 10, 30), rules(now, notice_minutes=0)) is None


def test_booking_horizon_counts_days_in_the_clinic_zone():
    now = at(MONDAY, 10)
    assert slot_problem(schedule(), at(MONDAY + timedelta(days=14), 9), rules(now, horizon=14)) is None
    assert slot_problem(schedule(), at(MONDAY + timedelta(days=15), 9), rules(now, horizon=14)) is Problem.BEYOND_HORIZON


def test_closures_for_the_clinic_and_for_the_provider():
    closed = schedule(closures=[(MONDAY, MONDAY + timedelta(days=1), "Eid", True)])
    assert slot_problem(closed, at(MONDAY + timedelta(days=1), 9), rules()) is Problem.CLOSED
    assert slot_problem(closed, at(MONDAY + timedelta(days=2), 9), rules()) is None
    assert closed.closure_on(MONDAY) == ("Eid", True)
    leave = schedule(closures=[(MONDAY, MONDAY, "Leave", False)])
    assert leave.closure_on(MONDAY) == ("Leave", False)


def test_inactive_provider_takes_no_bookings():
    assert slot_problem(schedule(active=False), at(MONDAY, 9), rules()) is Problem.INACTIVE


def test_taken_slots_and_overlaps():
    busy = schedule(busy=[(at(MONDAY, 10), at(MONDAY, 10, 30))])
    assert slot_problem(busy, at(MONDAY, 10), rules()) is Problem.TAKEN
    # Overlaps its start (a time off the grid, which staff may choose on purpose).
    assert slot_problem(busy, at(MONDAY, 9, 45), rules(), off_grid=True) is Problem.TAKEN
    assert slot_problem(busy, at(MONDAY, 9, 30), rules()) is None            # ends as it starts
    assert slot_problem(busy, at(MONDAY, 10, 30), rules()) is None
    # The appointment being moved does not block its own slot.
    assert slot_problem(busy, at(MONDAY, 10), rules(), ignore=(at(MONDAY, 10), at(MONDAY, 10, 30))) is None


def test_day_grid_skips_the_lunch_break():
    grid = day_grid(schedule(), MONDAY, TZ)
    assert grid[0] == at(MONDAY, 9) and grid[-1] == at(MONDAY, 16, 30)
    assert at(MONDAY, 13) not in grid and at(MONDAY, 13, 30) not in grid
    assert len(grid) == 14


def test_free_slots_leave_out_busy_times_and_the_notice_window():
    busy = schedule(busy=[(at(MONDAY, 11), at(MONDAY, 11, 30))])
    free = free_slots_on(busy, MONDAY, rules(at(MONDAY, 9, 50)))
    assert free[0] == at(MONDAY, 11, 30)  # 10:00-10:30 inside the hour's notice, 11:00 taken
    assert at(MONDAY, 11) not in free


def test_nearest_slots_same_day_first_then_later_days_ordered_by_closeness():
    # Monday is full except 9:00 and 16:30; asking for Monday 12:00.
    full = [(at(MONDAY, h, m), at(MONDAY, h, m) + timedelta(minutes=30))
            for h in (9, 10, 11, 12, 14, 15, 16) for m in (0, 30)
            if (h, m) not in ((9, 0), (16, 30))]
    slots = nearest_slots([schedule(busy=full)], [MONDAY + timedelta(days=i) for i in range(3)],
                          rules(), at=time(12), limit=4)
    assert [s.start for s in slots] == [
        at(MONDAY, 9), at(MONDAY, 16, 30),  # same day, 3 h before then 4.5 h after
        at(MONDAY + timedelta(days=1), 12), at(MONDAY + timedelta(days=1), 11, 30),  # tie: earlier first
    ]


def test_nearest_slots_prefers_the_part_of_day_and_covers_any_provider():
    a = schedule(provider_id=1, busy=[(at(MONDAY, 12), at(MONDAY, 13)), (at(MONDAY, 14), at(MONDAY, 17))])
    b = schedule(provider_id=2)
    slots = nearest_slots([a, b], [MONDAY], rules(), part_of_day=PartOfDay.AFTERNOON, limit=2)
    assert slots == [Slot(2, at(MONDAY, 12), at(MONDAY, 12, 30)), Slot(2, at(MONDAY, 12, 30), at(MONDAY, 13))]


def test_nearest_slots_stop_at_the_horizon():
    slots = nearest_slots([schedule()], [MONDAY + timedelta(days=i) for i in range(10)],
                          rules(at(MONDAY, 8), horizon=0), limit=50)
    assert {s.start.date() for s in slots} == {MONDAY}


def twenty_minutes() -> Schedule:
    """20-minute slots, 09:00-12:00 and 13:30-17:00: the afternoon grid starts at 13:30."""
    hours = {d: [(time(9), time(12)), (time(13, 30), time(17))] for d in range(5)}
    return Schedule(provider_id=1, length=timedelta(minutes=20), hours=hours)


def test_a_start_between_grid_slots_is_off_the_grid_unless_chosen_on_purpose():
    s = twenty_minutes()
    assert slot_problem(s, at(MONDAY, 10, 7), rules()) is Problem.OFF_GRID
    assert slot_problem(s, at(MONDAY, 10, 7), rules(), off_grid=True) is None
    assert slot_problem(s, at(MONDAY, 10, 20), rules()) is None
    # Outside the hours stays outside the hours, on purpose or not.
    assert slot_problem(s, at(MONDAY, 12, 50), rules(), off_grid=True) is Problem.OUTSIDE_HOURS


def test_the_grid_restarts_at_each_intervals_start():
    s = twenty_minutes()
    # 13:30 + 20-minute steps, not the morning's 13:20, 13:40 carried on.
    assert slot_problem(s, at(MONDAY, 13, 30), rules()) is None
    assert slot_problem(s, at(MONDAY, 13, 50), rules()) is None
    assert slot_problem(s, at(MONDAY, 13, 40), rules()) is Problem.OFF_GRID
    assert slot_problem(s, at(MONDAY, 16, 30), rules()) is None  # the last one: ends 16:50
    grid = day_grid(s, MONDAY, TZ)
    assert [t.strftime("%H:%M") for t in grid if t.hour in (11, 13, 16)] == [
        "11:00", "11:20", "11:40", "13:30", "13:50", "16:10", "16:30"]
    assert grid_neighbours(s, at(MONDAY, 10, 7), TZ) == [at(MONDAY, 10), at(MONDAY, 10, 20)]
    assert grid_neighbours(s, at(MONDAY, 13, 40), TZ) == [at(MONDAY, 13, 30), at(MONDAY, 13, 50)]


def test_a_time_with_seconds_is_off_the_grid():
    s = twenty_minutes()
    assert slot_problem(s, at(MONDAY, 10).replace(second=30), rules()) is Problem.OFF_GRID


def test_nearest_slots_for_an_off_grid_time_are_grid_times():
    s = twenty_minutes()
    found = nearest_slots([s], [MONDAY], rules(), at=time(10, 7), limit=3)
    assert [slot.start for slot in found] == [at(MONDAY, 10), at(MONDAY, 10, 20), at(MONDAY, 9, 40)]
