"""LOG_FORMAT=json: one JSON object per line on standard output, with the phone agent's per-turn figures as fields."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clinic.logfilters import RedactPhoneNumbers, json_formatter
from tests.voiceagent.conftest import CALLER
from tests.voiceagent.scripted import call, say

ROOT = Path(__file__).resolve().parents[2]


def test_the_web_apps_logs_are_json_lines_on_stdout_without_phone_numbers():
    code = (
        "import django, logging; django.setup();"
        "logging.getLogger('clinic.views').warning('search for %s', '03001234567');"
        "logging.getLogger('daphne').error('boom', extra={'room': 'call-_+923001234567_abc'})"
    )
    env = {**os.environ, "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "clinic.settings"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["level"], line["name"]) for line in lines] == [("WARNING", "clinic.views"), ("ERROR", "daphne")]
    assert lines[0]["message"] == "search for ••••••••567"
    assert lines[1]["room"] == "call-_•••••••••567_abc" and "timestamp" in lines[1]
    assert "1234567" not in result.stdout


def test_a_bad_log_format_stops_start_up_naming_it():
    env = {**os.environ, "LOG_FORMAT": "xml"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0 and "LOG_FORMAT must be plain or json, not 'xml'." in result.stderr


def test_the_voice_worker_adopts_livekits_handlers(settings):
    """LiveKit's CLI installs its own handler as it starts; ours filter and format it from its first line."""
    from livekit.agents.cli import cli as livekit_cli

    from voiceagent.worker import adopt_livekit_logging

    settings.LOG_FORMAT = "json"
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        adopt_livekit_logging()
        adopt_livekit_logging()  # twice (two servers in one process) wraps once
        assert livekit_cli.setup_logging.adopted and not livekit_cli.setup_logging.__wrapped__.__dict__.get("adopted")
        livekit_cli.setup_logging("INFO", devmode=True, console=False)
        [added] = [h for h in root.handlers if h not in before]
        record = logging.LogRecord("livekit.agents", logging.INFO, __file__, 1, "job for %s", ("+923001234567",), None)
        assert all(f.filter(record) for f in added.filters)
        line = json.loads(added.format(record))
        assert line["message"] == "job for •••••••••567" and line["level"] == "INFO"
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.django_db(transaction=True)
async def test_every_turn_logs_its_latency_figures_and_never_the_words(conversation, clinic, caplog):
    caplog.set_level(logging.INFO, logger="voiceagent.agent")
    async with conversation([say("Hello Bilal, how can I help?")]) as convo:
        await convo.say(f"Hi, I'm Bilal Ahmed, my number is {CALLER}")
        room = convo.desk.context.room

    turns = [r for r in caplog.records if getattr(r, "event", "") == "turn_metrics"]
    assert turns and all(r.room == room for r in turns)
    agent = [r for r in turns if r.role == "assistant"]
    assert agent and isinstance(agent[-1].llm_ttft_ms, float) and agent[-1].language == "en"
    formatter, redact = json_formatter(), RedactPhoneNumbers()
    for record in caplog.records:
        redact.filter(record)
        line = formatter.format(record)
        assert "Bilal" not in line and "1234567" not in line
    fields = json.loads(formatter.format(agent[-1]))
    assert fields["event"] == "turn_metrics" and fields["llm_ttft_ms"] >= 0 and fields["message"].startswith(
        f"call {room}: agent turn, llm_ttft_ms")
