"""Scheduling engine on the large demo data: find free times and booking, p50/p95.

    uv run python bench/scheduling_bench.py              # SQLite (var/bench.sqlite3)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench uv run python bench/scheduling_bench.py

Targets on a 2-core machine: one-provider search p95 < 10 ms, booking p95 < 20 ms.
"""

import argparse
import random
import time as clock
from datetime import time, timedelta

import common

common.setup()

from django.db import connection, reset_queries  # noqa: E402
from django.utils import timezone  # noqa: E402

from patients.models import Patient  # noqa: E402
from scheduling import services  # noqa: E402
from scheduling.models import Appointment, Provider  # noqa: E402
from scheduling.selectors import find_free_times  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    common.add_size_argument(parser)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    with common.large_data(args.size):
        run(args.runs)


def run(runs: int) -> None:
    rng = random.Random(1)
    providers = list(Provider.objects.filter(is_active=True))
    patient_ids = list(Patient.objects.values_list("pk", flat=True)[:5000])
    today = timezone.localdate()
    print(common.describe())

    def ask():
        return (rng.choice(providers), today + timedelta(days=rng.randint(1, 40)),
                time(rng.randint(8, 17), rng.choice([0, 30])))

    one, anyone, booking, queries = [], [], [], []
    for _ in range(runs):
        provider, day, at = ask()
        reset_queries()
        t = clock.perf_counter()
        find_free_times(provider=provider, day=day, at=at)
        one.append(clock.perf_counter() - t)
        queries.append(len(connection.queries))

        t = clock.perf_counter()
        find_free_times(day=day, at=at)
        anyone.append(clock.perf_counter() - t)

    booked = []
    for _ in range(runs):
        provider, day, at = ask()
        slots = find_free_times(provider=provider, day=day, at=at, limit=1).slots
        if not slots:
            continue
        patient = Patient(pk=rng.choice(patient_ids))
        t = clock.perf_counter()
        booked.append(services.appointment_book(patient=patient, provider=provider, start=slots[0].start))
        booking.append(clock.perf_counter() - t)
    # Leave the bench data as it was for the next run.
    Appointment.objects.filter(pk__in=[a.pk for a in booked]).delete()

    print(common.line("find free times, one provider", one, target_ms=10,
                      extra=f"   queries {min(queries)}-{max(queries)}"))
    print(common.line(f"find free times, any of {len(providers)} providers", anyone))
    print(common.line("book an appointment (checks + commit)", booking, target_ms=20))


if __name__ == "__main__":
    from django.conf import settings

    settings.DEBUG = True  # count queries
    main()
