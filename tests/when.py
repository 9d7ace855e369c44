"""Dates for tests that must not depend on today's weekday."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone


def next_weekday(weekday: int, *, after_days: int = 7) -> date:
    """A date at least `after_days` ahead falling on `weekday` (Monday=0)."""
    day = timezone.localdate() + timedelta(days=after_days)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def local_dt(day: date, hh: int, mm: int = 0) -> datetime:
    """An aware datetime at hh:mm on `day` in the clinic's zone."""
    return datetime.combine(day, time(hh, mm), tzinfo=timezone.get_default_timezone())
