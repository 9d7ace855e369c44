"""`manage.py run_voice_agent`: host the phone agent (LiveKit worker).

    manage.py run_voice_agent start                 # production: register with LiveKit, take calls
    manage.py run_voice_agent dev                   # the same, with debug logs and no idle processes
    manage.py run_voice_agent console --text        # talk to the agent in this terminal, no LiveKit server
    manage.py run_voice_agent connect --room R      # join one existing room
    manage.py run_voice_agent start --log-level debug --drain-timeout 120

Everything after the subcommand goes to LiveKit's agents CLI unchanged. Steps:
check the settings the mode needs (stop at once, naming each, if any is
missing or malformed), make sure Redis answers (the private one is started
when REDIS_URL is unset), build the worker, hand it the command line. On
SIGTERM or Ctrl+C the worker stops taking calls and lets the calls in
progress finish (drain) before it exits; a second signal exits at once.
"""

from __future__ import annotations

import argparse
import logging
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from clinic import redis_server
from voiceagent import config

MODES = ("start", "dev", "console", "connect")
log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the phone agent: start | dev | console [--text] | connect --room R (options go to LiveKit's CLI)."
    # LiveKit's CLI owns the event loop and the process from here on; Django's
    # system checks have nothing to say about it and cost start-up time.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("mode", choices=MODES, help="What to run (see LiveKit's agents CLI).")
        # The rest belongs to LiveKit's CLI; REMAINDER keeps Django's parser
        # from refusing options it does not know, such as --log-level.
        parser.add_argument("cli_args", nargs=argparse.REMAINDER, help="Options for LiveKit's CLI.")

    def handle(self, *, mode, cli_args, **options):
        found = config.problems(mode)
        if found:
            raise CommandError(
                "The phone agent cannot start:\n"
                + "\n".join(f"  - {problem}" for problem in found)
                + "\nSet them in the environment or in .env (README, 'Phone agent')."
            )
        redis = self._ensure_redis()
        # The worker process itself never queries the database; the calls do,
        # each in its own process with its own connection.
        connections.close_all()

        from livekit.agents import cli

        from voiceagent.worker import build_server

        server = build_server()
        if mode in ("start", "dev"):
            # A log line, not a print: under LOG_FORMAT=json every line on stdout is a JSON object.
            log.info("Phone agent %r connecting to %s (Ctrl+C or SIGTERM: finish calls in progress, then stop).",
                     settings.VOICE_AGENT_NAME, settings.LIVEKIT_URL)
        # LiveKit's CLI adds its own log handler; ours on the root logger would
        # print every line twice.
        logging.getLogger().handlers.clear()
        sys.argv = ["manage.py run_voice_agent", mode, *cli_args]
        try:
            cli.run_app(server)
        except SystemExit as exit_:
            # Typer ends with SystemExit even on success; pass on only failures.
            if exit_.code not in (None, 0):
                raise
        finally:
            if redis:
                redis.stop()

    def _ensure_redis(self):
        try:
            server = redis_server.ensure_running()
        except RuntimeError as exc:
            raise CommandError(f"Could not start the private Redis: {exc}. Set REDIS_URL to use another.") from None
        if not server and not redis_server.is_up(settings.REDIS_URL):
            raise CommandError("Redis does not answer at REDIS_URL. Start it, or unset REDIS_URL to use a private one.")
        return server
