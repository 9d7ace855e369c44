"""A worker killed in the middle of a task (SIGKILL: no clean-up runs) and started again.

django-tasks-db keeps no heartbeat: the killed worker's task stays "running"
and its message "Sending". The worker's sweep at start (notifications'
db_worker) runs such a task again once it is older than
WORKER_STALE_MINUTES, and shows the message as "May have been sent" rather
than sending it twice. Time passing is the one thing faked: the rows are
dated back past the stale limit. The worker is a real process, the SMS
provider a local server that holds the request open.
"""

from __future__ import annotations

import signal
import threading
import time
from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from notifications.models import Notification
from notifications.services import worker_sweep
from scheduling import services
from tests.factories import PatientFactory, ProviderFactory, UserFactory
from tests.when import local_dt

Kind, Status = Notification.Kind, Notification.Status


def _until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _minutes_pass(minutes: int) -> None:
    """Date the running tasks and sending messages back, as if `minutes` had passed since."""
    back = timezone.now() - timedelta(minutes=minutes)
    DBTaskResult.objects.running().update(started_at=back)
    Notification.objects.filter(status=Status.SENDING).update(updated_at=back)


def test_a_worker_killed_mid_send_sends_nothing_twice_and_the_desk_can_send_it_again(worker, twilio, monday):
    twilio.hold = threading.Event()
    appointment = services.appointment_book(patient=PatientFactory(), provider=ProviderFactory(),
                                            start=local_dt(monday, 10))
    _until(lambda: len(twilio.received) == 1)  # the worker is inside the send, waiting for the provider
    worker.proc.send_signal(signal.SIGKILL)
    worker.proc.wait(timeout=10)
    twilio.hold.set()
    confirmation = appointment.notifications.get(kind=Kind.BOOKED)
    [task] = DBTaskResult.objects.running()
    assert confirmation.status == Status.SENDING and task.args_kwargs["args"] == [confirmation.pk]

    # Restarted at once (systemd does, after 5 s): too fresh to call the task dead; nothing changes.
    worker.ensure()
    time.sleep(1.5)
    assert DBTaskResult.objects.get(pk=task.pk).status == "RUNNING"
    assert Notification.objects.get(pk=confirmation.pk).status == Status.SENDING

    # Past WORKER_STALE_MINUTES (10), the next start (or the running worker's sweep) puts it right.
    _minutes_pass(11)
    worker.stop()
    worker.ensure().drain()
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL" and len(task.worker_ids) == 2  # run again, by the new worker
    confirmation.refresh_from_db()
    assert confirmation.status == Status.UNKNOWN
    assert len(twilio.received) == 1  # not sent twice

    desk = Client()
    desk.force_login(UserFactory(receptionist=True))
    page = desk.get(reverse("appointment_edit", args=[appointment.pk])).content.decode()
    assert "Booking confirmation by SMS:\n      <strong>May have been sent</strong>" in page
    assert "The worker stopped while sending: it may have gone out." in page
    again = reverse("notification_send_again", args=[confirmation.pk])
    assert f'formaction="{again}"' in page

    # The patient says nothing came: one click sends it.
    response = desk.post(again, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Booking confirmation queued to be sent again." in response.content.decode()
    worker.drain()
    assert len(twilio.received) == 2 and len(twilio.messages) == 2
    confirmation.refresh_from_db()
    assert confirmation.status == Status.SENT
    # Only a failed message, or one that may have gone, can be sent again.
    response = desk.post(again, HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and "That message is sent;" in response.content.decode()
    worker.drain()
    assert len(twilio.received) == 2


def test_a_task_a_dead_worker_held_before_it_sent_anything_runs_at_the_next_start(worker, twilio, monday):
    worker.stop()
    appointment = services.appointment_book(patient=PatientFactory(), provider=ProviderFactory(),
                                            start=local_dt(monday, 10))
    # What a worker killed between taking the task and claiming its message leaves behind.
    confirmation = appointment.notifications.get(kind=Kind.BOOKED)
    [task] = DBTaskResult.objects.ready().filter(args_kwargs__args=[confirmation.pk])
    DBTaskResult.objects.filter(pk=task.pk).update(status="RUNNING", worker_ids=["killed-worker"],
                                                    started_at=timezone.now() - timedelta(minutes=11))
    worker.ensure().drain()
    assert len(twilio.messages) == 1 and "is booked" in twilio.messages[0]["Body"]
    assert Notification.objects.get(pk=confirmation.pk).status == Status.SENT
    assert DBTaskResult.objects.get(pk=task.pk).status == "SUCCESSFUL"


def test_a_task_that_kept_killing_its_worker_is_failed_not_run_a_fourth_time(transactional_db, monday):
    appointment = services.appointment_book(patient=PatientFactory(), provider=ProviderFactory(),
                                            start=local_dt(monday, 10))
    confirmation = appointment.notifications.get(kind=Kind.BOOKED)
    DBTaskResult.objects.filter(args_kwargs__args=[confirmation.pk]).update(
        status="RUNNING", worker_ids=["w1", "w2", "w3"], started_at=timezone.now() - timedelta(minutes=11))
    assert worker_sweep()["tasks failed"] == 1
    task = DBTaskResult.objects.get(args_kwargs__args=[confirmation.pk])
    assert task.status == "FAILED" and "died under it 3 times" in task.traceback
