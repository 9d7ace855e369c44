"""Dashboard pages on the large demo data: overview, calendar, appointments list, patient search; p50/p95 and queries.

    uv run python bench/dashboard_bench.py              # SQLite (var/bench.sqlite3)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench uv run python bench/dashboard_bench.py

Server time per request through Django's test Client (middleware, view,
template), signed in as a receptionist. Target on a 2-core machine: p95 < 150 ms
for each page (the calendar's day view of every provider: < 100 ms), with a
query count that does not depend on the data size.
"""

import argparse
import random
import time as clock

import common

common.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from clinic.context_processors import url_or_none  # noqa: E402
from patients.models import Patient  # noqa: E402

TARGET_MS = 150
CALENDAR_TARGET_MS = 100


def main() -> None:
    parser = argparse.ArgumentParser()
    common.add_size_argument(parser)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--only", choices=["calendar", "search"], help="measure only these pages")
    args = parser.parse_args()
    with common.large_data(args.size):
        run(args.runs, only=args.only)


def _client() -> Client:
    user, _ = get_user_model().objects.get_or_create(username="bench-reception")
    user.groups.add(Group.objects.get_or_create(name=settings.RECEPTIONIST_GROUP)[0])
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def _searches(rng: random.Random) -> list[tuple[str, str]]:
    """(kind, query): pieces of real names and phones from the data, plus misses."""
    sample = list(Patient.objects.order_by("?")[:50]) if connection.vendor == "postgresql" else \
        [Patient.objects.get(pk=pk) for pk in rng.sample(list(Patient.objects.values_list("pk", flat=True)), 50)]
    queries = []
    for p in sample:
        first, last = p.full_name.split()[0], p.full_name.split()[-1]
        national = "0" + p.phone[3:]  # +92300... -> 0300...
        queries += [
            ("name part", last[: rng.randint(3, len(last))].lower()),
            ("first + last name", f"{first} {last}"),
            ("phone digits (last 4)", p.phone[-4:]),
            ("phone as dialled", f"{national[:4]} {national[4:]}"),
        ]
    queries += [("no match", "zzqx"), ("no match", "99999999")]
    return queries


def measure(client: Client, url: str, runs: int, params=None, headers=None) -> tuple[list[float], list[int]]:
    times, queries = [], []
    for i in range(runs):
        p = params(i) if callable(params) else params
        t = clock.perf_counter()
        response = client.get(url, p or {}, headers=headers)
        times.append(clock.perf_counter() - t)
        # request_started resets the log, so this is the request's own count.
        queries.append(len(connection.queries))
        assert response.status_code == 200, (url, p, response.status_code)
    return times, queries


def report(name: str, times, queries, target_ms: float = TARGET_MS) -> None:
    print(common.line(name, times, target_ms=target_ms, extra=f"   queries {min(queries)}-{max(queries)}"))


def calendar(client: Client, runs: int) -> None:
    """The day view of all 50 providers over the next week's days (the busiest), the week view, the CSV."""
    from datetime import timedelta

    from django.utils import timezone

    from scheduling.models import Appointment, Provider

    url = url_or_none("calendar")
    if not url:
        print("calendar: no calendar URL yet, skipped")
        return
    today = timezone.localdate()
    days = [today + timedelta(days=i) for i in range(7)]
    from scheduling.selectors import calendar_grid

    response = client.get(url, {"date": today.isoformat()})
    grid = calendar_grid(days=[today])
    blocks = sum(len(c.blocks) for c in grid.columns)
    free = sum(len(c.free) for c in grid.columns)
    # The page shows CALENDAR_COLUMNS providers at a time: count what it printed.
    shown = response.content.count(b'class="cal-col-head" id=')
    shown_blocks = response.content.count(b'class="cal-appt ')
    print(f"calendar today: {len(grid.columns)} providers, {blocks} appointments, {free} free times; "
          f"the page shows {shown} of them with {shown_blocks} appointments, {len(response.content) // 1024} KB of HTML")
    report("calendar, day view, first providers", *measure(
        client, url, runs, lambda i: {"date": days[i % len(days)].isoformat()}), target_ms=CALENDAR_TARGET_MS)
    report("calendar, day view, htmx refresh", *measure(
        client, url, runs, lambda i: {"date": days[i % len(days)].isoformat()}, headers={"HX-Request": "true"}),
        target_ms=CALENDAR_TARGET_MS)
    busiest = Provider.objects.filter(is_active=True).order_by("pk").first()
    report("calendar, week view, one provider", *measure(
        client, url, runs, lambda i: {"view": "week", "provider": busiest.pk, "date": days[i % len(days)].isoformat()}))
    week = {"date_from": today.isoformat(), "date_to": (today + timedelta(days=6)).isoformat()}
    rows = Appointment.objects.filter(start__date__gte=days[0], start__date__lte=days[-1]).count()
    times = []
    for _ in range(max(runs // 10, 5)):
        t = clock.perf_counter()
        response = client.get(url_or_none("appointment_export"), week)
        size = sum(len(chunk) for chunk in response.streaming_content)
        times.append(clock.perf_counter() - t)
    print(common.line(f"CSV export, next 7 days (~{rows:,} rows, {size // 1024} KB)", times))


def patient_searches(client: Client, runs: int, rng: random.Random) -> list[tuple[str, str]]:
    """The patient list's searches, whole page and as you type; returns the searches for the calls list."""
    patients = url_or_none("patient_list")
    searches = _searches(rng)
    by_kind: dict[str, list[str]] = {}
    for kind, q in searches:
        by_kind.setdefault(kind, []).append(q)
    for kind, qs in by_kind.items():
        report(f"patient search: {kind}", *measure(client, patients, runs, lambda i, qs=qs: {"q": qs[i % len(qs)]}))
    htmx = {"HTTP_HX_REQUEST": "true"}
    times, queries = [], []
    for i in range(runs):
        q = searches[i % len(searches)][1]
        t = clock.perf_counter()
        client.get(patients, {"q": q}, **htmx)
        times.append(clock.perf_counter() - t)
        queries.append(len(connection.queries))
    report("patient search as you type (table only)", times, queries)
    return searches


def run(runs: int, only: str | None = None) -> None:
    rng = random.Random(3)
    client = _client()
    print(common.describe())
    client.get(url_or_none("overview"))  # warm: session, caches, connections
    if only == "calendar":
        calendar(client, runs)
        return

    if only == "search":
        patient_searches(client, runs, rng)
        return

    report("overview", *measure(client, url_or_none("overview"), runs))
    calendar(client, runs)

    appointments = url_or_none("appointment_list")
    if appointments:
        report("appointments list (default view)", *measure(client, appointments, runs))
        report("appointments list, page 3", *measure(client, appointments, runs, {"page": 3}))
        names = [q for kind, q in _searches(random.Random(5)) if kind == "name part"]
        report("appointments list, patient search", *measure(
            client, appointments, runs, lambda i: {"q": names[i % len(names)]}))
    else:
        print("appointments list: no appointment_list URL yet, skipped")

    patients = url_or_none("patient_list")
    report("patients list, first page", *measure(client, patients, runs))
    searches = patient_searches(client, runs, rng)

    # A patient with a long history: the page lists every appointment and call.
    from django.db.models import Count

    from scheduling.models import Appointment

    busiest = (Appointment.objects.values("patient").annotate(n=Count("id")).order_by("-n").first() or {})
    if busiest:
        url = url_or_none("patient_detail", busiest["patient"])
        report(f"patient page ({busiest['n']} appointments)", *measure(client, url, runs))
    calls = url_or_none("call_list")
    if calls:
        report("calls list", *measure(client, calls, runs))
        report("calls list, caller search", *measure(
            client, calls, runs, lambda i: {"q": searches[i % len(searches)][1]}))
    report("live calls", *measure(client, url_or_none("live_calls"), runs))


if __name__ == "__main__":
    settings.DEBUG = True  # count queries
    main()
