"""`manage.py setup_telephony` against a stand-in for LiveKit's SIP service.

`FakeSip` (tests/voiceagent/fake_livekit.py) implements the `api.sip` methods the set-up and reminder calls use, keeps the
trunks and rules it was given like LiveKit would, and records every write, so
a test can tell "created", "updated" and "left alone" apart.
"""

from __future__ import annotations

import contextlib
import socket
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from livekit import api

from tests.factories import clinic_profile
from tests.voiceagent.fake_livekit import FakeSip
from voiceagent import telephony

NUMBER = "+924235761234"


@pytest.fixture
def livekit(settings, monkeypatch):
    settings.LIVEKIT_URL = "wss://clinic.livekit.cloud"
    settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = "APIkey", "secret"
    settings.SIP_TRUNK_NUMBER = "042 35761234"
    settings.VOICE_AGENT_NAME = "clinic-receptionist"
    fake = FakeSip()

    @contextlib.asynccontextmanager
    async def fake_sip():
        yield fake

    monkeypatch.setattr(telephony, "livekit_sip", fake_sip)
    return fake


def run(*args) -> str:
    out = StringIO()
    call_command("setup_telephony", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_first_run_creates_the_trunk_and_a_rule_sending_each_caller_to_the_agent(livekit):
    output = run("--allowed-address", "54.172.60.1/30")
    [trunk] = livekit.trunks.values()
    [rule] = livekit.rules.values()
    assert list(trunk.numbers) == [NUMBER]
    assert list(trunk.allowed_addresses) == ["54.172.60.0/30"]
    assert rule.trunk_ids == [trunk.sip_trunk_id]
    assert rule.rule.dispatch_rule_individual.room_prefix == "call-"
    assert [a.agent_name for a in rule.room_config.agents] == ["clinic-receptionist"]
    assert f"inbound trunk {trunk.sip_trunk_id}: created (number {NUMBER}, from 54.172.60.0/30)" in output
    assert f"dispatch rule {rule.sip_dispatch_rule_id}: created" in output
    assert "any address" not in output


@pytest.mark.django_db
def test_second_run_changes_nothing(livekit):
    run("--allowed-address", "54.172.60.0/30", "--auth-username", "clinic", "--auth-password", "pw")
    writes = list(livekit.writes)
    output = run("--allowed-address", "54.172.60.0/30", "--auth-username", "clinic", "--auth-password", "pw")
    assert livekit.writes == writes
    assert output.count(": unchanged") == 2


@pytest.mark.django_db
def test_a_changed_number_or_password_updates_the_same_trunk(livekit, settings):
    run("--auth-username", "clinic", "--auth-password", "old")
    [trunk_id] = livekit.trunks
    settings.SIP_TRUNK_NUMBER = "+92 42 35761999"
    output = run("--auth-username", "clinic", "--auth-password", "old")
    assert list(livekit.trunks) == [trunk_id] and len(livekit.rules) == 1
    assert list(livekit.trunks[trunk_id].numbers) == ["+924235761999"]
    assert f"inbound trunk {trunk_id}: updated" in output
    assert "dispatch rule SDR_1: unchanged" in output

    output = run("--auth-username", "clinic", "--auth-password", "new")
    assert livekit.trunks[trunk_id].auth_password == "new"
    assert f"inbound trunk {trunk_id}: updated" in output


@pytest.mark.django_db
def test_a_renamed_agent_updates_the_rule(livekit, settings):
    run()
    settings.VOICE_AGENT_NAME = "front-desk-2"
    output = run()
    [rule] = livekit.rules.values()
    assert [a.agent_name for a in rule.room_config.agents] == ["front-desk-2"]
    assert "dispatch rule SDR_1: updated" in output and "inbound trunk ST_1: unchanged" in output


@pytest.mark.django_db
def test_a_hand_made_trunk_for_the_number_is_adopted_not_duplicated(livekit):
    livekit.trunks["ST_manual"] = api.SIPInboundTrunkInfo(sip_trunk_id="ST_manual", name="my trunk",
                                                          numbers=[NUMBER])
    output = run()
    assert list(livekit.trunks) == ["ST_manual"]
    assert livekit.trunks["ST_manual"].name == telephony.TRUNK_NAME
    assert "inbound trunk ST_manual: updated" in output
    assert list(livekit.rules.values())[0].trunk_ids == ["ST_manual"]


@pytest.mark.django_db
def test_the_clinic_profile_number_is_used_when_the_setting_is_empty(livekit, settings):
    settings.SIP_TRUNK_NUMBER = ""
    clinic_profile(phone="+924235760000")
    run()
    assert [list(t.numbers) for t in livekit.trunks.values()] == [["+924235760000"]]


@pytest.mark.django_db
def test_dry_run_says_what_it_would_do_and_does_nothing(livekit):
    output = run("--dry-run")
    assert "Would be inbound trunk (new): created" in output
    assert livekit.writes == [] and not livekit.trunks


@pytest.mark.django_db
def test_without_a_number_or_livekit_settings_it_says_what_to_set(livekit, settings):
    settings.SIP_TRUNK_NUMBER = ""
    with pytest.raises(CommandError, match="set SIP_TRUNK_NUMBER, or the clinic phone"):
        run()
    settings.LIVEKIT_URL = settings.LIVEKIT_API_SECRET = ""
    with pytest.raises(CommandError, match="Set LIVEKIT_URL, LIVEKIT_API_SECRET first"):
        run()
    assert livekit.writes == []


@pytest.mark.django_db
def test_bad_options_are_refused_before_anything_is_written(livekit):
    with pytest.raises(CommandError, match="'sip.example.com' is not an IP address or range"):
        run("--allowed-address", "sip.example.com")
    with pytest.raises(CommandError, match="both --auth-username and --auth-password"):
        run("--auth-username", "clinic")
    with pytest.raises(CommandError, match="not usable"):
        run("--number", "12")
    assert livekit.writes == []


@pytest.mark.django_db
def test_an_unreachable_livekit_is_a_one_line_error(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.LIVEKIT_URL = f"ws://127.0.0.1:{port}"
    settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = "APIkey", "secret-" + "x" * 32
    settings.SIP_TRUNK_NUMBER = NUMBER
    with pytest.raises(CommandError, match=f"Could not reach LiveKit at ws://127.0.0.1:{port}"):
        run()


@pytest.mark.django_db
def test_outbound_number_creates_then_keeps_then_updates_the_outbound_trunk(livekit):
    output = run("--outbound-number", "042 35761234", "--outbound-address", "clinic.pstn.twilio.com",
                 "--outbound-auth-username", "clinic", "--outbound-auth-password", "pw")
    [trunk] = livekit.outbound.values()
    assert (trunk.name, trunk.address, list(trunk.numbers)) == (
        telephony.OUTBOUND_TRUNK_NAME, "clinic.pstn.twilio.com", [NUMBER])
    assert (trunk.auth_username, trunk.auth_password) == ("clinic", "pw")
    assert f"outbound trunk {trunk.sip_trunk_id}: created (calls out as {NUMBER} via clinic.pstn.twilio.com" in output
    writes = list(livekit.writes)
    output = run("--outbound-number", "+924235761234", "--outbound-address", "clinic.pstn.twilio.com",
                 "--outbound-auth-username", "clinic", "--outbound-auth-password", "pw")
    assert livekit.writes == writes and output.count(": unchanged") == 3
    output = run("--outbound-number", "+924235761234", "--outbound-address", "clinic2.pstn.twilio.com",
                 "--outbound-auth-username", "clinic", "--outbound-auth-password", "new")
    assert list(livekit.outbound) == [trunk.sip_trunk_id]
    assert livekit.outbound[trunk.sip_trunk_id].address == "clinic2.pstn.twilio.com"
    assert f"outbound trunk {trunk.sip_trunk_id}: updated" in output


@pytest.mark.django_db
@pytest.mark.parametrize("args, message", [
    (["--outbound-number", "12"], "outbound number '12' is not usable"),
    (["--outbound-number", "+924235761234"], "--outbound-address must be your SIP provider's host"),
    (["--outbound-number", "+924235761234", "--outbound-address", "sip:me@evil host"], "--outbound-address"),
    (["--outbound-number", "+924235761234", "--outbound-address", "a.example", "--outbound-auth-username", "x"],
     "both --outbound-auth-username and --outbound-auth-password"),
])
def test_bad_outbound_options_are_refused_before_anything_changes(livekit, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert livekit.writes == []
