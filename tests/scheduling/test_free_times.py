""""Find free times": the requested slot if free, else the nearest, read with few queries."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from scheduling.availability import PartOfDay
from scheduling.selectors import find_free_times, free_slots_for_day
from tests.factories import AppointmentFactory, ClosureFactory, ProviderFactory, clinic_profile
from tests.when import local_dt

pytestmark = pytest.mark.django_db


def starts(result):
    return [timezone.localtime(s.start) for s in result.slots]


def test_the_requested_slot_when_it_is_free(monday):
    khan = ProviderFactory(name="Dr Khan")
    result = find_free_times(provider=khan, day=monday, at=time(10))
    assert result.requested_free
    assert starts(result)[0] == local_dt(monday, 10)
    assert result.provider(result.slots[0]) == khan


def test_alternatives_same_day_first_then_following_days(monday):
    khan = ProviderFactory(name="Dr Khan")
    # Monday is fully booked except 16:30.
    for h in (9, 10, 11, 12, 14, 15, 16):
        for m in (0, 30):
            if (h, m) != (16, 30):
                AppointmentFactory(provider=khan, start=local_dt(monday, h, m))
    result = find_free_times(provider=khan, day=monday, at=time(10), limit=4)
    assert not result.requested_free
    assert starts(result) == [local_dt(monday, 16, 30)] + [
        local_dt(monday + timedelta(days=1), h, m) for h, m in ((10, 0), (9, 30), (10, 30))
    ]


def test_any_provider_and_part_of_day(monday):
    morning = ProviderFactory(name="Dr Morning", hours={0: [(time(8), time(12))]})
    evening = ProviderFactory(name="Dr Evening", hours={0: [(time(15), time(20))]})
    result = find_free_times(day=monday, part_of_day=PartOfDay.EVENING, limit=3)
    assert {s.provider_id for s in result.slots} == {evening.pk}
    assert starts(result)[0] == local_dt(monday, 17)
    result = find_free_times(day=monday, part_of_day=PartOfDay.MORNING, limit=3)
    assert {s.provider_id for s in result.slots} == {morning.pk}


def test_first_free_skips_closures_and_inactive_providers(monday):
    ProviderFactory(name="Dr Away", is_active=False)
    khan = ProviderFactory(name="Dr Khan")
    today = timezone.localdate()
    ClosureFactory(start_date=today, end_date=monday, reason="Renovation")
    result = find_free_times(limit=2)
    assert [s.provider_id for s in result.slots] == [khan.pk, khan.pk]
    assert starts(result)[0].date() > monday


def test_a_search_reads_a_bounded_number_of_queries(monday, django_assert_max_num_queries):
    clinic_profile()  # exists in every installation after the first request
    providers = [ProviderFactory() for _ in range(5)]
    for p in providers:
        for d in range(5):
            AppointmentFactory(provider=p, start=local_dt(monday + timedelta(days=d), 9))
    with django_assert_max_num_queries(5):
        find_free_times(provider=providers[0], day=monday, at=time(9))
    with django_assert_max_num_queries(5):
        find_free_times(day=monday, at=time(9))


def test_time_picker_lists_every_free_start_of_the_day(monday):
    khan = ProviderFactory()
    booked = AppointmentFactory(provider=khan, start=local_dt(monday, 9))
    slots = free_slots_for_day(provider=khan, day=monday)
    assert local_dt(monday, 9) not in slots and len(slots) == 13
    # Editing that appointment offers its own time too.
    assert local_dt(monday, 9) in free_slots_for_day(provider=khan, day=monday, exclude_appointment_id=booked.pk)
