"""The calendar page, the day list and the CSV exports: what a receptionist sees and downloads."""

from __future__ import annotations

import csv
import io
import re
from datetime import time, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from scheduling.models import Appointment
from tests.factories import AppointmentFactory, ClosureFactory, PatientFactory, ProviderFactory, UserFactory
from tests.when import local_dt

pytestmark = pytest.mark.django_db
Status = Appointment.Status
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def khan():
    return ProviderFactory(name="Dr Ayesha Khan")


def book(provider, start, **kw):
    kw.setdefault("end", start + timedelta(minutes=provider.appointment_minutes))
    return AppointmentFactory(provider=provider, start=start, **kw)


def column(html: str, title: str) -> str:
    """One provider's (or day's) column of the grid."""
    start = re.search(rf'class="cal-col-head" id="cal-h-\d+">{re.escape(title)}', html).start()
    following = html.find('<div class="cal-col', start)
    return html[start:following if following > 0 else len(html)]


def test_day_view_has_a_column_per_provider_with_blocks_gaps_and_breaks(desk, khan, monday):
    ahmed = ProviderFactory(name="Dr Bilal Ahmed", appointment_minutes=20)
    book(khan, local_dt(monday, 10), patient=PatientFactory(full_name="Ali Raza"), reason="Fever")
    book(ahmed, local_dt(monday, 9), patient=PatientFactory(full_name="Sana Malik"), status=Status.PENDING)
    book(khan, local_dt(monday, 11), patient=PatientFactory(full_name="Gone Cancelled"), status=Status.CANCELLED)
    response = desk.get(reverse("calendar"), {"date": monday.isoformat()})
    assert response.status_code == 200
    html = response.content.decode()
    khan_col, ahmed_col = column(html, "Dr Ayesha Khan"), column(html, "Dr Bilal Ahmed")
    # The block, sized by its length: 30 minutes is 6 rows of 5 minutes.
    block = re.search(r'class="cal-appt (r\d+) s(\d+) status-booked"[^>]*>', khan_col)
    assert block and block.group(2) == "6"
    assert "Ali Raza" in khan_col and "Fever" in khan_col and "10:00–10:30" in khan_col
    assert "Sana Malik" in ahmed_col and "status-pending" in ahmed_col and "09:00–09:20" in ahmed_col
    assert "Gone Cancelled" not in html  # a cancelled visit frees its time
    # Free times are the engine's: 10:00 taken for Khan, free for Ahmed; 11:00 free again after the cancellation.
    free_khan = re.findall(r'class="cal-free [^"]+" href="[^"]+" data-drop data-time="(\d\d:\d\d)"', khan_col)
    assert "10:00" not in free_khan and "09:30" in free_khan and "11:00" in free_khan
    assert "13:00" not in free_khan  # lunch
    assert "Break 13:00–14:00" in khan_col
    assert "09:00–13:00, 14:00–17:00" in khan_col
    # A gap opens the booking dialog with everything chosen.
    assert f"/appointments/new/?provider={khan.pk}&amp;date={monday.isoformat()}&amp;time=09:30" in khan_col


def test_closures_and_days_off_show_their_reason(desk, khan, monday):
    away = ProviderFactory(name="Dr Away")
    ClosureFactory(provider=away, start_date=monday, end_date=monday, reason="Conference")
    html = desk.get(reverse("calendar"), {"date": monday.isoformat()}).content.decode()
    assert "Away: Conference" in column(html, "Dr Away")
    assert "cal-free" not in column(html, "Dr Away")
    sunday = monday + timedelta(days=6)
    html = desk.get(reverse("calendar"), {"date": sunday.isoformat()}).content.decode()
    assert "Not in on Sundays" in column(html, "Dr Ayesha Khan")
    ClosureFactory(start_date=monday, end_date=monday, reason="Eid holiday")
    html = desk.get(reverse("calendar"), {"date": monday.isoformat()}).content.decode()
    assert "Clinic closed: Eid holiday" in column(html, "Dr Ayesha Khan")


def test_week_view_is_one_providers_week(desk, khan, monday):
    ProviderFactory(name="Dr Other")
    book(khan, local_dt(monday + timedelta(days=2), 15), patient=PatientFactory(full_name="Wednesday Patient"))
    response = desk.get(reverse("calendar"), {"view": "week", "date": (monday + timedelta(days=3)).isoformat(),
                                               "provider": khan.pk})
    html = response.content.decode()
    assert len(response.context["grid"].columns) == 7
    assert response.context["days"][0] == monday
    assert "Wednesday Patient" in column(html, f"{monday + timedelta(days=2):%a} {(monday + timedelta(days=2)).day}")
    assert "Dr Other" not in html.split('id="calendar"')[1]


def test_navigation_links_and_bad_dates(desk, khan, monday):
    html = desk.get(reverse("calendar"), {"date": monday.isoformat(), "provider": khan.pk}).content.decode()
    assert f"date={monday - timedelta(days=1)}&amp;provider={khan.pk}" in html
    assert f"date={monday + timedelta(days=1)}&amp;provider={khan.pk}" in html
    for bad in ("9999-12-31", "0001-01-01", "yesterday", "2025-02-30", "x" * 10_000, "2025-01-01\x00"):
        response = desk.get(reverse("calendar"), {"date": bad, "provider": "1 OR 1=1", "view": "<script>"})
        assert response.status_code == 200
        assert response.context["day"] == timezone.localdate()


def test_the_calendar_costs_the_same_queries_for_any_number_of_appointments(desk, monday):
    def grow(n):
        for _ in range(n):
            p = ProviderFactory()
            for i in range(n):
                book(p, local_dt(monday, 9) + timedelta(minutes=30 * i))
                ClosureFactory(provider=p, start_date=monday + timedelta(days=1 + i), end_date=monday + timedelta(days=1 + i))

    grow(2)
    desk.get(reverse("calendar"), {"date": monday.isoformat()})  # warm the session
    with CaptureQueriesContext(connection) as small:
        desk.get(reverse("calendar"), {"date": monday.isoformat()})
    grow(8)
    with CaptureQueriesContext(connection) as large:
        response = desk.get(reverse("calendar"), {"date": monday.isoformat()})
    assert len(response.context["grid"].columns) == 10
    assert sum(len(c.blocks) for c in response.context["grid"].columns) == 2 * 2 + 8 * 8
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]
    with CaptureQueriesContext(connection) as week:
        desk.get(reverse("calendar"), {"date": monday.isoformat(), "view": "week"})
    assert len(week) == len(small)


def test_a_clinic_with_more_providers_than_fit_sees_them_a_group_at_a_time(desk, monday, monkeypatch):
    monkeypatch.setattr("scheduling.views.CALENDAR_COLUMNS", 2)
    names = ["Dr Amna", "Dr Bilal", "Dr Farah", "Dr Hina", "Dr Omar"]
    providers = {name: ProviderFactory(name=name) for name in names}
    ProviderFactory(name="Dr Gone", is_active=False)
    book(providers["Dr Hina"], local_dt(monday, 10), patient=PatientFactory(full_name="Sana Malik"))

    def titles(response):
        return [c.provider.name for c in response.context["grid"].columns]

    first = desk.get(reverse("calendar"), {"date": monday.isoformat()})
    html = first.content.decode()
    assert titles(first) == ["Dr Amna", "Dr Bilal"]
    assert "providers 1–2 of 5" in html and "Sana Malik" not in html
    # One control names every group by who is in it.
    assert re.findall(r'<option value="(\d)"[^>]*>([^<]+)</option>', html[html.index('id="cal-group"'):]) == [
        ("1", "1–2: Dr Amna to Dr Bilal"), ("2", "3–4: Dr Farah to Dr Hina"), ("3", "5–5: Dr Omar to Dr Omar")]

    second = desk.get(reverse("calendar"), {"date": monday.isoformat(), "group": "2"})
    assert titles(second) == ["Dr Farah", "Dr Hina"]
    html = second.content.decode()
    assert "Sana Malik" in column(html, "Dr Hina")
    # The day before and after show the same group.
    assert f"date={monday + timedelta(days=1)}&amp;group=2" in html
    assert titles(desk.get(reverse("calendar"), {"date": monday.isoformat(), "group": "99"})) == ["Dr Omar"]
    assert titles(desk.get(reverse("calendar"), {"date": monday.isoformat(), "group": "-1"})) == ["Dr Amna", "Dr Bilal"]
    # A chosen provider is shown whatever the group.
    chosen = desk.get(reverse("calendar"), {"date": monday.isoformat(), "group": "1", "provider": providers["Dr Omar"].pk})
    assert titles(chosen) == ["Dr Omar"]


def test_the_htmx_refresh_gets_the_grid_only(desk, khan, monday):
    response = desk.get(reverse("calendar"), {"date": monday.isoformat()}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="calendar"')
    assert 'hx-trigger="clinic:changed from:body' in html


def test_the_grid_css_has_a_class_for_every_row_and_span_of_a_day():
    css = (ROOT / "static/css/calendar-grid.css").read_text()
    for n in range(1, 24 * 12 + 1):
        assert f".r{n}{{grid-row-start:{n}}}" in css
        assert f".s{n}{{grid-row-end:span {n}}}" in css


def test_the_now_line_is_on_todays_column_only(desk):
    today = timezone.localdate()
    ProviderFactory(name="Dr All Day", hours={today.weekday(): [(time(0), time(23, 59))]})
    html = desk.get(reverse("calendar")).content.decode()
    assert html.count('class="cal-now r') == 1
    html = desk.get(reverse("calendar"), {"date": (today + timedelta(days=7)).isoformat()}).content.decode()
    assert 'class="cal-now' not in html


# --- CSV and the day list -------------------------------------------------------------

def read_csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_export_is_every_row_the_filters_select_not_one_page(desk, khan, monday):
    other = ProviderFactory(name="Dr Other")
    for i in range(30):  # more than a page of 25
        book(khan, local_dt(monday, 9) + timedelta(minutes=30 * (i % 14)) + timedelta(days=i // 14),
             patient=PatientFactory(full_name=f"Patient {i:02d}"), reason=f"visit {i}")
    book(other, local_dt(monday, 9), patient=PatientFactory(full_name="Someone Else"))
    book(khan, local_dt(monday + timedelta(days=20), 9), patient=PatientFactory(full_name="Later On"))
    params = {"date_from": monday.isoformat(), "date_to": (monday + timedelta(days=6)).isoformat(),
              "provider": khan.pk, "sort": "-patient", "page": 2}
    page = desk.get(reverse("appointment_list"), params)
    assert page.context["page"].paginator.count == 30
    rows = read_csv(desk.get(reverse("appointment_export"), params))
    assert rows[0][:5] == ["Date", "Start", "End", "Provider", "Patient"]
    names = [r[4] for r in rows[1:]]
    assert names == [f"Patient {i:02d}" for i in reversed(range(30))]  # the list's order, all pages
    assert rows[1][3] == "Dr Ayesha Khan" and rows[-1][1] == "09:00"
    # The link on the page carries the same filters.
    assert f"{reverse('appointment_export')}?date_from={monday}" in page.content.decode()


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rReturn"])
def test_export_cells_cannot_become_formulas(desk, khan, monday, name):
    book(khan, local_dt(monday, 10), patient=PatientFactory(full_name=name), reason=name)
    rows = read_csv(desk.get(reverse("appointment_export"), {"date_from": monday, "date_to": monday}))
    assert rows[1][4] == "'" + name and rows[1][9] == "'" + name
    rows = read_csv(desk.get(reverse("day_list"), {"date": monday, "format": "csv"}))
    assert rows[1][4] == "'" + name


def test_day_list_per_provider_or_all_printable_and_as_csv(desk, khan, monday):
    other = ProviderFactory(name="Dr Other")
    book(khan, local_dt(monday, 10), patient=PatientFactory(full_name="Ali Raza", phone="+923001234567"))
    book(other, local_dt(monday, 11), patient=PatientFactory(full_name="Sara Malik"))
    book(khan, local_dt(monday, 12), patient=PatientFactory(full_name="Not Coming"), status=Status.CANCELLED)
    book(khan, local_dt(monday + timedelta(days=1), 10), patient=PatientFactory(full_name="Tomorrow Person"))
    html = desk.get(reverse("day_list"), {"date": monday}).content.decode()
    assert "Ali Raza" in html and "0300 1234567" in html and "Sara Malik" in html
    assert "Not Coming" not in html and "Tomorrow Person" not in html
    body = html[html.index('<div class="day-list">'):]
    assert body.index("Dr Ayesha Khan") < body.index("Ali Raza") < body.index("Dr Other") < body.index("Sara Malik")
    assert "data-print" in html
    one = desk.get(reverse("day_list"), {"date": monday, "provider": other.pk}).content.decode()
    assert "Sara Malik" in one and "Ali Raza" not in one
    rows = read_csv(desk.get(reverse("day_list"), {"date": monday, "provider": khan.pk, "format": "csv"}))
    assert [r[4] for r in rows[1:]] == ["Ali Raza"] and rows[1][5] == "0300 1234567"


def test_exports_need_the_role(client, khan, monday):
    for url in (reverse("appointment_export"), reverse("day_list") + "?format=csv", reverse("calendar")):
        assert client.get(url).status_code == 302
        client.force_login(UserFactory(receptionist=False))
        assert client.get(url).status_code == 403
        client.logout()


@pytest.mark.parametrize("params", [
    {"date_from": "9999-12-31"}, {"date_to": "9999-12-31"}, {"date_from": "0001-01-01", "date_to": "0001-01-02"},
])
def test_far_dates_are_explained_not_a_crash(desk, params):
    response = desk.get(reverse("appointment_list"), params)
    assert response.status_code == 200 and "Enter a date between 1900 and 2999" in response.content.decode()
    assert read_csv(desk.get(reverse("appointment_export"), params))[0][0] == "Date"


def test_names_and_reasons_are_escaped_on_the_grid(desk, khan, monday):
    book(khan, local_dt(monday, 10), patient=PatientFactory(full_name='<script>alert(1)</script> "Ali"'),
         reason="<img src=x onerror=alert(2)>")
    html = desk.get(reverse("calendar"), {"date": monday.isoformat()}).content.decode()
    grid = html[html.index('id="calendar"'):]
    assert "<script>alert(1)" not in grid and "<img src=x" not in grid
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &quot;Ali&quot;" in grid and "&lt;img src=x" in grid


def test_ids_that_are_not_ids_change_nothing_and_break_nothing(desk, khan, monday):
    appt = book(khan, local_dt(monday, 10), patient=PatientFactory(full_name="Ali Raza"))
    huge = "9" * 5000
    for params in ({"provider": huge}, {"provider": "-1"}, {"provider": "1 OR 1=1"}):
        assert desk.get(reverse("calendar"), {"date": monday, **params}).status_code == 200
        assert desk.get(reverse("day_list"), {"date": monday, **params}).status_code == 200
    assert desk.get(reverse("patient_similar"), {"full_name": "Ali", "phone": "0300", "patient": huge}).status_code == 200
    for provider in (huge, "", str(khan.pk + 1000)):
        response = desk.post(reverse("appointment_move", args=[appt.pk]),
                             {"provider": provider, "date": monday.isoformat(), "time": "11:00"},
                             HTTP_HX_REQUEST="true")
        assert response.status_code == 422
    for date_, time_ in (("9999-12-31", "11:00"), (monday.isoformat(), "25:00"), (monday.isoformat(), "11:00:00"),
                         (monday.isoformat(), "x" * 10_000)):
        response = desk.post(reverse("appointment_move", args=[appt.pk]),
                             {"provider": khan.pk, "date": date_, "time": time_}, HTTP_HX_REQUEST="true")
        assert response.status_code == 422
    appt.refresh_from_db()
    assert (appt.start, appt.status) == (local_dt(monday, 10), Status.BOOKED)
