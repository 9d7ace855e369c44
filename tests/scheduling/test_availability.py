"""The availability engine on plain values: no database, no settings."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduling.availability import (
    PartOfDay, Problem, Rules, Schedule, Slot, day_grid, free_slots_on, nearest_slots, slot_problem,
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
    assert slot_problem(busy, at(MONDAY, 9, 45), rules()) is Problem.TAKEN   # overlaps its start
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
