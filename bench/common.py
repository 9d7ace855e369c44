"""Shared set-up for the bench/ scripts: Django on a bench database, Redis, the large data, figures.

Benchmarks run on their own database (var/bench.sqlite3 unless DATABASE_URL
says otherwise) so that seeding 100,000 appointments never lands in the demo
clinic a developer is clicking through. `--size xlarge` (500,000 patients,
1,000,000 appointments) wants a database of its own: var/bench-xlarge.sqlite3
by default, or an empty PostgreSQL database named by DATABASE_URL.
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


SIZES = ("large", "xlarge")


def size_from_argv() -> str:
    """The --size a bench was given (read before Django starts: it picks the default database)."""
    args = sys.argv[1:]
    for i, arg in enumerate(args):
        if arg.startswith("--size="):
            return arg.split("=", 1)[1]
        if arg == "--size" and i + 1 < len(args):
            return args[i + 1]
    return "large"


def add_size_argument(parser) -> None:
    parser.add_argument("--size", choices=SIZES, default="large",
                        help="large: 50,000 patients, 100,000 appointments; xlarge: ten times that")


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    name = "bench-xlarge.sqlite3" if size_from_argv() == "xlarge" else "bench.sqlite3"
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / name}")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


@contextmanager
def large_data(size: str = "large"):
    """Redis (the private one when REDIS_URL is unset) and the large (or xlarge) demo
    data, for the length of a benchmark; the private Redis is stopped afterwards."""
    redis = start_redis()
    try:
        ensure_large_data(size)
        yield
    finally:
        if redis:
            redis.stop()


def start_redis():
    """The private Redis when REDIS_URL is unset (returns it, to stop); else None."""
    from clinic import redis_server

    return redis_server.ensure_running()


def ensure_large_data(size: str = "large") -> None:
    from django.core.management import call_command

    from clinic import demo
    from scheduling.models import Appointment

    call_command("migrate", verbosity=0)
    wanted = {"large": demo.LARGE, "xlarge": demo.XLARGE}[size].appointments
    if Appointment.objects.count() < wanted * 0.9:
        print(f"Seeding the {size} demo data (once per bench database; "
              f"{'takes a minute' if size == 'large' else 'takes several minutes'})...", flush=True)
        call_command("seed_demo", size=size)
    if Appointment.objects.count() < wanted * 0.9:
        raise SystemExit(f"This database holds {Appointment.objects.count():,} appointments, not the {size} "
                         "data: seeding on top of a smaller size adds no appointments. Use an empty database.")


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
