"""Shared set-up for the bench/ scripts: Django on a bench database, Redis, the large data, figures.

Benchmarks run on their own database (var/bench.sqlite3 unless DATABASE_URL
says otherwise) so that seeding 100,000 appointments never lands in the demo
clinic a developer is clicking through.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


@contextmanager
def large_data():
    """Redis (the private one when REDIS_URL is unset) and the large demo data,
    for the length of a benchmark; the private Redis is stopped afterwards."""
    redis = start_redis()
    try:
        ensure_large_data()
        yield
    finally:
        if redis:
            redis.stop()


def start_redis():
    """The private Redis when REDIS_URL is unset (returns it, to stop); else None."""
    from clinic import redis_server

    return redis_server.ensure_running()


def ensure_large_data() -> None:
    from django.core.management import call_command

    from scheduling.models import Appointment

    call_command("migrate", verbosity=0)
    if Appointment.objects.count() < 90_000:
        print("Seeding the large demo data (once per bench database; takes a minute)...", flush=True)
        call_command("seed_demo", size="large")


def describe() -> str:
    from django.db import connection

    from patients.models import Patient
    from scheduling.models import Appointment, Provider

    return (f"{connection.vendor}, {Provider.objects.count()} providers, {Patient.objects.count():,} patients, "
            f"{Appointment.objects.count():,} appointments; {os.cpu_count()} cores, Python {platform.python_version()}")


def ms(samples_s: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    ordered = sorted(samples_s)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def line(name: str, samples_s: list[float], *, target_ms: float | None = None, extra: str = "") -> str:
    p50, p95 = ms(samples_s)
    verdict = "" if target_ms is None else (" ok" if p95 < target_ms else " OVER TARGET")
    target = f" (target p95 < {target_ms:g} ms{verdict})" if target_ms else ""
    return f"{name:<44} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   n={len(samples_s)}{target}{extra}"
