"""When the clinic is open: the union of its providers' hours, less closures."""

from datetime import time, timedelta

import pytest

from scheduling.selectors import clinic_hours, clinic_open
from tests.factories import ClosureFactory, ProviderFactory
from tests.when import local_dt

pytestmark = pytest.mark.django_db


@pytest.fixture
def providers(monday):
    # Khan: weekdays 9-13 and 14-17 (the factory's week). Malik: Mondays 12-19.
    khan = ProviderFactory(name="Dr Khan")
    malik = ProviderFactory(name="Dr Malik", hours={0: [(time(12), time(19))]})
    ProviderFactory(name="Dr Gone", is_active=False, hours={5: [(time(8), time(20))]})
    return khan, malik


def test_the_day_is_the_union_of_the_providers_hours(providers, monday):
    tuesday = monday + timedelta(days=1)
    saturday = monday + timedelta(days=5)
    hours = clinic_hours(monday, saturday)
    assert hours[monday] == [(local_dt(monday, 9), local_dt(monday, 19))]
    assert hours[tuesday] == [(local_dt(tuesday, 9), local_dt(tuesday, 13)),
                              (local_dt(tuesday, 14), local_dt(tuesday, 17))]
    # Only an inactive provider works Saturdays: the clinic is shut.
    assert hours[saturday] == []


def test_open_until_the_last_provider_stops(providers, monday):
    status = clinic_open(local_dt(monday, 10))
    assert status.is_open and status.closes_at == local_dt(monday, 19) and status.opens_at is None


def test_closed_over_lunch_opens_after_it(providers, monday):
    tuesday = monday + timedelta(days=1)
    status = clinic_open(local_dt(tuesday, 13, 30))
    assert not status.is_open and status.opens_at == local_dt(tuesday, 14)


def test_closed_at_the_weekend_opens_on_monday(providers, monday):
    friday_evening = local_dt(monday + timedelta(days=4), 18)
    status = clinic_open(friday_evening)
    assert not status.is_open and status.opens_at == local_dt(monday + timedelta(days=7), 9)


def test_a_clinic_closure_closes_the_day_and_says_why(providers, monday):
    ClosureFactory(start_date=monday, end_date=monday, reason="Eid holiday")
    status = clinic_open(local_dt(monday, 10))
    assert not status.is_open and status.closure == "Eid holiday"
    assert status.opens_at == local_dt(monday + timedelta(days=1), 9)


def test_a_provider_away_leaves_the_others_hours(providers, monday):
    khan, malik = providers
    ClosureFactory(provider=malik, start_date=monday, end_date=monday, reason="Conference")
    assert clinic_hours(monday, monday)[monday] == [(local_dt(monday, 9), local_dt(monday, 13)),
                                                   (local_dt(monday, 14), local_dt(monday, 17))]
    assert clinic_open(local_dt(monday, 18)).opens_at == local_dt(monday + timedelta(days=1), 9)


def test_nothing_opens_in_the_next_month(monday):
    status = clinic_open(local_dt(monday, 10))
    assert not status.is_open and status.opens_at is None


def test_a_month_of_hours_in_three_queries(providers, monday, django_assert_num_queries):
    with django_assert_num_queries(3):
        clinic_open(local_dt(monday, 10))
