"""`manage.py up`: the one command that runs the product on a fresh machine.

Steps, in order: start the private Redis when REDIS_URL is unset, apply
migrations, with DEBUG on seed the demo clinic and its demo logins into an
empty database and print the logins (with DEBUG off, say how to create the
first manager), start the background worker (confirmations, reminders) and,
when its settings are present, the phone agent beside the web app, then serve the ASGI app with daphne until Ctrl+C.
On the way out it stops what it started, in reverse order.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from clinic import demo, redis_server, roles
from scheduling.models import Provider
from voiceagent import config as voice_config


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


User = get_user_model()


class Command(BaseCommand):
    help = "Run the whole product: Redis if needed, migrations, demo data, the phone agent if configured, the web app."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-agent", action="store_true", help="Do not start the phone agent.")

    def handle(self, *, host, port, no_agent, **options):
        # A process started in the background by a script inherits SIGINT
        # ignored; Ctrl+C (or the SIGINT a supervisor sends) must still stop us.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if not _port_free(host, port):
            raise CommandError(f"Port {port} on {host} is taken. Stop what runs there or pass --port.")
        redis = self._start_redis()
        agent = worker = None
        try:
            call_command("migrate", interactive=False, verbosity=0)
            self.stdout.write("Database is up to date.")
            if not settings.DEBUG:
                # With DEBUG off, pages name the hashed copies that only collectstatic writes.
                call_command("collectstatic", interactive=False, verbosity=0)
                self.stdout.write("Static files collected.")
            logins = self._demo()
            worker = self._start_worker()
            agent = None if no_agent else self._start_agent()
            url = f"http://{host}:{port}/"
            self.stdout.write("")
            self.stdout.write(self.style.SUCCESS(f"Clinic front desk: {url}"))
            for line in logins:
                self.stdout.write(line)
            self.stdout.write(f"  {'admin:':<24} {url}admin/")
            self.stdout.write(f"  {'made-up live calls:':<24} uv run manage.py simulate_calls  (another terminal)")
            self.stdout.write("Press Ctrl+C to stop.\n")
            # Daphne's runserver serves the ASGI app (HTTP and WebSockets);
            # insecure_serving lets it serve static files with DEBUG off too,
            # so `up` works the same in either mode. Production runs daphne
            # itself (deploy/Procfile, README "Deploying").
            call_command("runserver", f"{host}:{port}", use_reloader=False, insecure_serving=True,
                         skip_checks=True)
        finally:
            if agent:
                self._stop_agent(agent)
            if worker:
                self._stop_worker(worker)
            if redis:
                redis.stop()
                self.stdout.write("Stopped the private Redis.")

    def _demo(self) -> list[str]:
        """Seed the demo clinic and its logins if this is a fresh DEBUG database; the lines to print.

        A clinic's real database never gets made-up patients or a known
        password, and an account someone changed is never reset.
        """
        logins = []
        if settings.DEBUG and not Provider.objects.exists():
            created = demo.seed_demo()
            self.stdout.write(f"Seeded the demo clinic: {', '.join(f'{n} {k}' for k, n in created.items())}.")
            logins = demo.create_logins()
        elif settings.DEBUG:
            logins = demo.working_logins()
        lines = [f"  {role + ' login:':<24} {username} / {password}" for role, username, password in logins]
        if not settings.DEBUG and not User.objects.filter(groups__name=roles.MANAGERS, is_active=True).exists():
            lines += ["  No manager account yet. Create the first one with:",
                      "    uv run manage.py create_manager <username>"]
        return lines

    def _start_redis(self):
        try:
            server = redis_server.ensure_running()
        except RuntimeError as exc:
            raise CommandError(f"Could not start the private Redis: {exc}. Set REDIS_URL to use another.") from None
        if server:
            self.stdout.write(f"Started a private Redis on {server.socket}.")
        elif not redis_server.is_up(settings.REDIS_URL):
            raise CommandError("Redis does not answer at REDIS_URL. Start it, or unset REDIS_URL to use a private one.")
        return server

    def _start_worker(self) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, os.path.join(settings.BASE_DIR, "manage.py"), "db_worker", "--no-reload",
             "--verbosity", "0"],
            env=os.environ.copy(),
            start_new_session=True,  # stopped by us, after the web app, so a task in hand finishes
        )
        self.stdout.write(f"Background worker: started (pid {process.pid}), confirmations and reminders.")
        return process

    def _stop_worker(self, process: subprocess.Popen) -> None:
        if process.poll() is not None:
            return
        # SIGTERM lets the task in hand finish; sends time out after 10 s.
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        self.stdout.write("Stopped the background worker.")

    def _start_agent(self):
        problems = voice_config.problems()
        if problems:
            missing = voice_config.missing_names()
            why = f"set {', '.join(missing)}" if missing else problems[0]
            self.stdout.write(f"Phone agent: off. To answer calls, {why} (README, 'Phone agent').")
            return None
        process = subprocess.Popen(
            [sys.executable, os.path.join(settings.BASE_DIR, "manage.py"), "run_voice_agent", "start"],
            env=os.environ.copy(),
            start_new_session=True,  # Ctrl+C goes to us; we drain the worker with SIGTERM
        )
        self.stdout.write(f"Phone agent: started (pid {process.pid}), agent name {settings.VOICE_AGENT_NAME!r}.")
        return process

    def _stop_agent(self, process: subprocess.Popen) -> None:
        if process.poll() is not None:
            return
        self.stdout.write("Stopping the phone agent (calls in progress finish first)...")
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=settings.CALL_MAX_MINUTES * 60 + 30)
        except subprocess.TimeoutExpired:
            process.kill()
