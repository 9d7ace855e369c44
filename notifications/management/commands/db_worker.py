"""`manage.py db_worker`: django-tasks-db's worker, which first puts right what a dead worker left behind.

This command stands in for the package's own (the notifications app comes
before django_tasks_db in INSTALLED_APPS), so every way the worker is
started (`up`, the Procfile, systemd, the tests) gets the sweep. The
package keeps no heartbeat: a worker killed mid-task (SIGKILL, out of
memory, a lost machine) leaves its task "running" for good. The sweep
(notifications.services.worker_sweep) runs at start and every
SWEEP_SECONDS while the worker lives, since a worker restarted at once
finds the task too fresh to call stale.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.db import connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from notifications.services import worker_sweep

logger = logging.getLogger("notifications.worker")

SWEEP_SECONDS = 300


def _sweep_forever() -> None:
    while True:
        time.sleep(SWEEP_SECONDS)
        try:
            worker_sweep()
        except Exception:  # the next round tries again; the worker goes on
            logger.exception("The worker's sweep failed")
        finally:
            connections.close_all()  # this thread's own connections


class Command(db_worker.Command):
    help = "Run the background worker (django-tasks-db), sweeping up after workers that died"

    def handle(self, *args, **options):
        # With --reload only the child process that runs tasks sweeps.
        if not options.get("reload") or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
            counts = worker_sweep()
            if any(counts.values()):
                self.stdout.write("Put right after a worker that died: "
                                  + ", ".join(f"{n} {what}" for what, n in counts.items() if n))
            connections.close_all()
            threading.Thread(target=_sweep_forever, name="worker-sweep", daemon=True).start()
        return super().handle(*args, **options)
