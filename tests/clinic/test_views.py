"""Dashboard shell: access rules, sign-in lock-out, sign-out, the overview."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from scheduling.models import Appointment, Provider
from tests.factories import (
    AppointmentFactory,
    CallFactory,
    ClosureFactory,
    PatientFactory,
    ProviderFactory,
    UserFactory,
)
from tests.when import local_dt
from voiceagent.models import Call

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"

# Every page of the dashboard, with arguments for those that take a pk.
DASHBOARD_URLS = [
    ("overview", ()),
    ("appointment_list", ()),
    ("appointment_new", ()),
    ("patient_list", ()),
    ("patient_new", ()),
    ("patient_detail", ("PATIENT",)),
    ("patient_edit", ("PATIENT",)),
    ("patient_delete", ("PATIENT",)),
    ("patient_picker", ()),
    ("live_calls", ()),
    ("call_list", ()),
    ("call_detail", ("CALL",)),
]


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(receptionist=True))
    return client


def _dashboard_urls():
    patient, call = PatientFactory(), CallFactory()
    urls = []
    for name, args in DASHBOARD_URLS:
        real_args = [{"PATIENT": patient.pk, "CALL": call.pk}[a] for a in args]
        urls.append(reverse(name, args=real_args))
    return urls


def test_every_dashboard_page_sends_anonymous_visitors_to_sign_in(client):
    urls = _dashboard_urls()
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url


def test_signed_in_user_without_the_role_gets_403(client):
    client.force_login(UserFactory(receptionist=False))
    for url in _dashboard_urls():
        assert client.get(url).status_code == 403, url


def test_receptionist_sees_the_overview_with_navigation(staff_client):
    response = staff_client.get(reverse("overview"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="live-call-count"' in html
    assert 'id="modal"' in html
    assert "X-CSRFToken" in html
    assert "Log out" in html


def test_staff_see_the_admin_link_receptionists_do_not(client):
    client.force_login(UserFactory(receptionist=True))
    assert reverse("admin:index") not in client.get(reverse("overview")).content.decode()
    client.force_login(UserFactory(receptionist=False, is_staff=True))
    assert reverse("admin:index") in client.get(reverse("overview")).content.decode()


# --- sign-in, lock-out, sign-out --------------------------------------------


def _login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_sign_in_with_the_right_password_reaches_the_overview(client):
    user = UserFactory(receptionist=True)
    response = _login(client, user.username, PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("overview")
    assert client.get(reverse("overview")).status_code == 200


def test_wrong_password_is_refused_with_a_message(client):
    user = UserFactory(receptionist=True)
    response = _login(client, user.username, "nope")
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_lockout_after_max_failures_refuses_even_the_right_password(client, caplog):
    user = UserFactory(receptionist=True)
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _login(client, user.username, "wrong-password-xyz")
    response = _login(client, user.username, PASSWORD)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Too many failed sign-in attempts" in html
    assert "try again after" in html and f"(in {settings.LOGIN_LOCKOUT_SECONDS // 60} minutes)" in html
    assert client.get(reverse("overview")).status_code == 302  # still signed out
    assert "wrong-password-xyz" not in caplog.text
    assert "Failed sign-in" in caplog.text


def test_lockout_is_per_username(client):
    victim, other = UserFactory(receptionist=True), UserFactory(receptionist=True)
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _login(client, victim.username, "wrong")
    assert _login(client, other.username, PASSWORD).status_code == 302


def test_success_clears_the_username_counter(client):
    user = UserFactory(receptionist=True)
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        _login(client, user.username, "wrong")
    assert _login(client, user.username, PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        _login(client, user.username, "wrong")
    assert _login(client, user.username, PASSWORD).status_code == 302


def test_logout_is_post_only(staff_client):
    assert staff_client.get(reverse("logout")).status_code == 405
    assert staff_client.get(reverse("overview")).status_code == 200
    response = staff_client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert staff_client.get(reverse("overview")).status_code == 302


# --- overview ----------------------------------------------------------------


@pytest.fixture
def made_up_day(clinic_tz):
    """Today: two providers in, one not working today, one closed; a few appointments and calls."""
    today = timezone.localdate()
    wd = today.weekday()
    all_day = {wd: [(local_dt(today, 0).time(), local_dt(today, 23, 59).time())]}
    khan = ProviderFactory(name="Dr Khan", hours=all_day)
    malik = ProviderFactory(name="Dr Malik", hours=all_day)
    ProviderFactory(name="Dr Away", hours={(wd + 1) % 7: [(local_dt(today, 9).time(), local_dt(today, 17).time())]})
    closed = ProviderFactory(name="Dr Leave", hours=all_day)
    ClosureFactory(provider=closed, start_date=today, end_date=today, reason="Annual leave")
    ali = PatientFactory(full_name="Ali Raza")
    sana = PatientFactory(full_name="Sana Qureshi")
    now = timezone.now()

    def at(hh, mm=0):
        return local_dt(today, hh, mm)

    AppointmentFactory(patient=ali, provider=khan, start=at(0, 0), status=Appointment.Status.COMPLETED)
    AppointmentFactory(patient=sana, provider=khan, start=at(0, 30), status=Appointment.Status.NO_SHOW)
    AppointmentFactory(patient=sana, provider=malik, start=at(0, 0), status=Appointment.Status.CANCELLED)
    AppointmentFactory(patient=ali, provider=malik, start=at(23, 0), status=Appointment.Status.BOOKED)
    AppointmentFactory(patient=sana, provider=malik, start=at(23, 30), status=Appointment.Status.BOOKED)
    # Tomorrow and in three days: in the week chart, not in today's counts.
    AppointmentFactory(patient=ali, provider=khan, start=local_dt(today + timedelta(days=1), 10))
    AppointmentFactory(patient=ali, provider=khan, start=local_dt(today + timedelta(days=3), 10))
    AppointmentFactory(patient=ali, provider=khan, start=local_dt(today + timedelta(days=3), 11))
    # Yesterday: nowhere.
    AppointmentFactory(patient=ali, provider=khan, start=local_dt(today - timedelta(days=1), 10),
                       status=Appointment.Status.COMPLETED)
    start_of_day = at(0, 0)
    CallFactory(started_at=max(start_of_day, now - timedelta(minutes=30)), outcome=Call.Outcome.BOOKED)
    CallFactory(started_at=max(start_of_day, now - timedelta(minutes=20)), outcome=Call.Outcome.BOOKED)
    CallFactory(started_at=max(start_of_day, now - timedelta(minutes=10)), outcome=Call.Outcome.INFO)
    CallFactory(started_at=start_of_day - timedelta(hours=2), outcome=Call.Outcome.BOOKED)  # yesterday
    return {"today": today}


def _stat(html, stat_id):
    import re

    match = re.search(rf'id="{stat_id}">(\d+)<', html)
    assert match, stat_id
    return int(match.group(1))


def test_overview_counts_a_made_up_day(staff_client, made_up_day):
    response = staff_client.get(reverse("overview"))
    html = response.content.decode()
    # Today's total is what holds a time today: the cancelled one is counted on its own.
    assert _stat(html, "stat-today") == 4
    assert _stat(html, "stat-booked") == 2
    assert _stat(html, "stat-completed") == 1
    assert _stat(html, "stat-no_show") == 1
    assert _stat(html, "stat-cancelled") == 1
    assert _stat(html, "stat-patients") == 2
    assert _stat(html, "stat-calls") == 3
    assert _stat(html, "stat-calls-booked") == 2

    ctx = response.context
    chart = {d["day"]: d["count"] for d in ctx["chart"]}
    today = made_up_day["today"]
    assert len(chart) == 7
    assert chart[today] == _stat(html, "stat-today") == 4  # the two figures agree
    assert chart[today + timedelta(days=1)] == 1
    assert chart[today + timedelta(days=3)] == 2
    assert f"{today + timedelta(days=3):%A %-d %B}: 2 appointments" in html

    rows = {r["provider"]["name"]: r for r in ctx["schedules"]}
    # Each provider's day in figures, and the next open visits to check in (the calendar has the rest).
    assert (rows["Dr Khan"]["total"], rows["Dr Khan"]["seen"], rows["Dr Khan"]["no_show"],
            rows["Dr Khan"]["to_come"]) == (2, 1, 1, 0)
    assert (rows["Dr Malik"]["total"], rows["Dr Malik"]["to_come"]) == (2, 2)  # the cancelled one not counted
    assert [(a["time"], a["patient__full_name"]) for a in rows["Dr Malik"]["appointments"]] == [
        ("23:00", "Ali Raza"), ("23:30", "Sana Qureshi")]
    assert rows["Dr Khan"]["appointments"] == []
    assert "2 today: 1 seen, 1 no-show, 0 to come" in html and "2 today: 0 seen, 2 to come" in html
    assert f'?date={today:%Y-%m-%d}&amp;provider={Provider.objects.get(name="Dr Malik").pk}"' in html
    assert rows["Dr Away"]["note"] == "Not in today"
    assert rows["Dr Leave"]["note"] == "Closed today: Annual leave"
    assert "Not in today" in html and "Closed today: Annual leave" in html


def test_overview_patient_total_follows_patients_added_and_removed(staff_client, made_up_day):
    assert _stat(staff_client.get(reverse("overview")).content.decode(), "stat-patients") == 2
    patient = PatientFactory(full_name="New Patient")
    assert _stat(staff_client.get(reverse("overview")).content.decode(), "stat-patients") == 3
    staff_client.post(reverse("patient_delete", args=[patient.pk]), headers={"HX-Request": "true"})
    assert _stat(staff_client.get(reverse("overview")).content.decode(), "stat-patients") == 2


def test_overview_lists_per_provider_the_next_visits_to_check_in_from_an_hour_ago(staff_client, clinic_tz):
    today = timezone.localdate()
    khan = ProviderFactory(name="Dr Khan", hours={today.weekday(): [(local_dt(today, 8).time(), local_dt(today, 18).time())]})
    booked, seen = Appointment.Status.BOOKED, Appointment.Status.COMPLETED
    for hh, mm, name, status in [(10, 0, "Too Late", booked), (11, 5, "Running Late", booked),
                                 (11, 40, "Already Seen", seen), (12, 15, "Next One", booked),
                                 (12, 50, "After That", booked), (13, 30, "Later Still", booked)]:
        AppointmentFactory(provider=khan, patient=PatientFactory(full_name=name), start=local_dt(today, hh, mm),
                           status=status)
    with time_machine.travel(local_dt(today, 12), tick=False):
        response = staff_client.get(reverse("overview"))
    html = response.content.decode()
    card = html[html.index('id="prov-'):]
    # Up to two open visits, from an hour ago on: a late patient can still be checked in.
    assert [a["patient__full_name"] for a in response.context["schedules"][0]["appointments"]] == [
        "Running Late", "Next One"]
    assert "Running Late" in card and "Next One" in card and "After That" not in card and "Too Late" not in card
    assert 'value="arrived"' in card
    assert "6 today: 1 seen, 5 to come" in card


def test_overview_waiting_room_lists_who_arrived_and_for_how_long(staff_client, made_up_day):
    today = made_up_day["today"]
    khan = Provider.objects.get(name="Dr Khan")
    now = timezone.now()
    early = AppointmentFactory(patient=PatientFactory(full_name="Early Bird"), provider=khan,
                               start=local_dt(today, 23, 30), status=Appointment.Status.ARRIVED,
                               arrived_at=now - timedelta(minutes=25))
    AppointmentFactory(patient=PatientFactory(full_name="Just Came"), provider=khan, start=local_dt(today, 23),
                       status=Appointment.Status.ARRIVED, arrived_at=now - timedelta(minutes=2))
    AppointmentFactory(patient=PatientFactory(full_name="Already Seen"), provider=khan, start=local_dt(today, 1),
                       status=Appointment.Status.COMPLETED, arrived_at=now - timedelta(minutes=50))
    response = staff_client.get(reverse("overview"))
    waiting = response.context["waiting"]
    assert [a["patient__full_name"] for a in waiting] == ["Early Bird", "Just Came"]  # longest wait first
    assert [a["waited"] for a in waiting] == [25, 2]
    html = response.content.decode()
    section = html[html.index('id="waiting-list"'):html.index('id="next-h"')]
    assert "waiting 25 min, came early" in section and "Already Seen" not in section
    # The one thing left to do for them is one click away.
    assert f'action="/appointments/{early.pk}/status/"' in section and 'value="completed"' in section
    assert _stat(html, "stat-arrived") == 2
    assert _stat(html, "stat-today") == response.context["chart"][0]["count"] == 7


def test_overview_next_appointments_are_the_next_ones_from_now(staff_client, made_up_day):
    upcoming = staff_client.get(reverse("overview")).context["upcoming"]
    now = timezone.now()
    assert upcoming and all(a.start >= now for a in upcoming)
    assert [a.start for a in upcoming] == sorted(a.start for a in upcoming)
    assert all(a.status != Appointment.Status.CANCELLED for a in upcoming)


def test_overview_htmx_refresh_returns_the_panels_only(staff_client, made_up_day):
    response = staff_client.get(reverse("overview"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="overview-panels"')
    assert "<html" not in html
    assert 'hx-trigger="clinic:changed from:body' in html


def _grow(n):
    today = timezone.localdate()
    providers = [ProviderFactory(hours={today.weekday(): [(local_dt(today, 0).time(), local_dt(today, 23).time())]})
                 for _ in range(n)]
    for i, p in enumerate(providers):
        for k in range(n):
            AppointmentFactory(provider=p, start=local_dt(today + timedelta(days=k % 7), 1 + k))
        CallFactory(outcome=Call.Outcome.BOOKED)
        ClosureFactory(provider=p, start_date=today + timedelta(days=20 + i), end_date=today + timedelta(days=20 + i))


def test_overview_query_count_does_not_grow_with_data(staff_client, django_assert_max_num_queries):
    _grow(2)
    staff_client.get(reverse("overview"))  # warm the session and profile
    with django_assert_max_num_queries(14) as small:
        staff_client.get(reverse("overview"))
    few = len(small.captured_queries)  # read now: the next request empties the query log
    _grow(6)
    # The new patients are counted once (patients.totals); then the page is as cheap as before.
    staff_client.get(reverse("overview"))
    with django_assert_max_num_queries(few):
        response = staff_client.get(reverse("overview"))
    assert len(response.context["schedules"]) == 8


def test_overview_status_buttons_are_the_same_form_as_everywhere_else(rf, clinic_tz):
    """The overview prints its status forms in Python (scheduling.views.status_forms_html), for speed;
    they must stay what the shared template makes for the appointment list and the patient page."""
    import re

    from django.middleware.csrf import get_token
    from django.template.loader import render_to_string

    from scheduling.views import status_forms_html

    request = rf.get("/?a=1&b=<x>")
    get_token(request)
    row = {"pk": 42, "patient__full_name": "Ali <Raza> & Sons",
           "actions": [("arrived", "Arrived"), ("no_show", "No-show"), ("cancelled", "Cancel")]}
    status_forms_html(request, [row], who="patient__full_name")
    from_template = render_to_string("scheduling/_status_actions.html", {"a": row, "who": row["patient__full_name"]},
                                     request=request)

    def squeeze(html):
        # Every get_token() masks the token anew: compare the forms, not the masks.
        html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value="T"', html)
        return re.sub(r">\s+<", "><", html.strip())

    assert squeeze(row["actions_html"]) == squeeze(from_template)
    assert "Ali &lt;Raza&gt; &amp; Sons" in row["actions_html"]
