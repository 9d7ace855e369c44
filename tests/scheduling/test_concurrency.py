"""Many receptionists and callers racing for one slot: exactly one wins."""

import threading

import pytest
from django.db import connection

from scheduling import services
from scheduling.models import Appointment
from scheduling.services import BookingError
from tests.factories import PatientFactory, ProviderFactory
from tests.when import local_dt

THREADS = 12


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_of_one_slot(monday):
    if connection.vendor != "postgresql":
        pytest.skip("the concurrency test runs on PostgreSQL (CI's second pass); SQLite serialises writers")
    provider = ProviderFactory(name="Dr Khan")
    patients = [PatientFactory() for _ in range(THREADS)]
    start = local_dt(monday, 10)
    barrier = threading.Barrier(THREADS)
    won, refused, crashed = [], [], []

    def attempt(patient):
        try:
            barrier.wait()
            won.append(services.appointment_book(patient=patient, provider=provider, start=start))
        except BookingError as exc:
            refused.append(exc)
        except Exception as exc:  # anything else is a bug the test must show
            crashed.append(exc)
        finally:
            connection.close()  # each thread has its own; leave none open for teardown

    threads = [threading.Thread(target=attempt, args=(p,)) for p in patients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert crashed == []
    assert len(won) == 1 and len(refused) == THREADS - 1
    assert all(exc.code == "taken" for exc in refused)
    assert Appointment.objects.filter(provider=provider, start=start).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_bookings_of_different_lengths(monday):
    """The exclusion constraint also stops overlaps that are not the same start."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    provider = ProviderFactory(appointment_minutes=45)
    a, b = PatientFactory(), PatientFactory()
    barrier = threading.Barrier(2)
    results = []

    def attempt(patient, start):
        try:
            barrier.wait()
            results.append(services.appointment_book(patient=patient, provider=provider, start=start))
        except BookingError as exc:
            results.append(exc)
        finally:
            connection.close()  # each thread has its own; leave none open for teardown

    threads = [threading.Thread(target=attempt, args=(a, local_dt(monday, 9))),
               threading.Thread(target=attempt, args=(b, local_dt(monday, 9, 30)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, Appointment) for r in results) == 1
    assert Appointment.objects.filter(provider=provider).count() == 1
