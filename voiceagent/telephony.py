"""The clinic's phone line in LiveKit: one SIP inbound trunk and one dispatch rule.

The trunk accepts calls to the clinic's number from the SIP provider; the
dispatch rule puts each caller in a room of their own ("call-<random>") and
asks for this agent by name (explicit dispatch), so the calls reach
`manage.py run_voice_agent` and nothing else.

`telephony_sync` makes LiveKit match what this installation wants: it finds
our trunk and rule by name (or the trunk by its number, when someone made it
by hand), creates what is missing, replaces what differs and leaves the rest
alone, so running it twice changes nothing the second time. Only the few
`api.sip` methods below are used, which is also what tests replace.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from livekit import api
from livekit.api.sip_service import SipService

from patients.phone import normalize_phone

TRUNK_NAME = "clinic-front-desk"
RULE_NAME = "clinic-front-desk"
ROOM_PREFIX = "call-"


class TelephonyError(Exception):
    """Something the person running the set-up must fix; the message says what."""


@dataclass(frozen=True)
class LineConfig:
    number: str  # E.164
    agent_name: str
    allowed_addresses: tuple[str, ...] = ()
    auth_username: str = ""
    auth_password: str = field(default="", repr=False)
    room_prefix: str = ROOM_PREFIX

    def fingerprint(self) -> str:
        # Kept in the trunk's metadata: LiveKit may not hand the password back
        # on a list, and this still tells a changed password from an unchanged one.
        data = json.dumps([self.number, self.allowed_addresses, self.auth_username, self.auth_password])
        return hashlib.sha256(data.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Change:
    what: str  # "inbound trunk" | "dispatch rule"
    action: str  # "created" | "updated" | "unchanged"
    id: str
    detail: str

    def __str__(self) -> str:
        return f"{self.what} {self.id}: {self.action} ({self.detail})"


def line_config(
    *,
    number: str,
    agent_name: str,
    allowed_addresses: Sequence[str] = (),
    auth_username: str = "",
    auth_password: str = "",
    room_prefix: str = ROOM_PREFIX,
) -> LineConfig:
    """The wanted set-up from what the operator gave; TelephonyError names anything unusable."""
    if not number:
        raise TelephonyError(
            "No clinic number: set SIP_TRUNK_NUMBER, or the clinic phone in the admin (Clinic profile)."
        )
    try:
        e164 = normalize_phone(number)
    except Exception as exc:  # InvalidPhoneNumber carries the sentence
        raise TelephonyError(f"The clinic number {number!r} is not usable: {' '.join(exc.messages)}") from None
    addresses = []
    for address in allowed_addresses:
        try:
            addresses.append(str(ipaddress.ip_network(address.strip(), strict=False)))
        except ValueError:
            raise TelephonyError(
                f"--allowed-address {address!r} is not an IP address or range such as 54.172.60.0/30."
            ) from None
    if bool(auth_username) != bool(auth_password):
        raise TelephonyError("Give both --auth-username and --auth-password, or neither.")
    if not room_prefix or any(ch.isspace() for ch in room_prefix):
        raise TelephonyError(f"--room-prefix must be a short word such as 'call-', not {room_prefix!r}.")
    return LineConfig(number=e164, agent_name=agent_name, allowed_addresses=tuple(sorted(addresses)),
                      auth_username=auth_username, auth_password=auth_password, room_prefix=room_prefix)


def clinic_number() -> str:
    """SIP_TRUNK_NUMBER when set, else the clinic phone from the clinic profile."""
    from clinic.models import ClinicProfile

    return settings.SIP_TRUNK_NUMBER.strip() or ClinicProfile.load().phone


@contextlib.asynccontextmanager
async def livekit_sip() -> AsyncIterator[SipService]:
    """LiveKit's SIP service for the configured server (tests replace this function)."""
    lk = api.LiveKitAPI(url=settings.LIVEKIT_URL, api_key=settings.LIVEKIT_API_KEY,
                        api_secret=settings.LIVEKIT_API_SECRET)
    try:
        yield lk.sip
    finally:
        await lk.aclose()


async def telephony_sync(*, sip, config: LineConfig, dry_run: bool = False) -> list[Change]:
    """Make LiveKit's trunk and dispatch rule match `config`; what was done, one Change each."""
    trunk_change, trunk_id = await _sync_trunk(sip, config, dry_run)
    rule_change = await _sync_rule(sip, config, trunk_id, dry_run)
    return [trunk_change, rule_change]


def _wanted_trunk(config: LineConfig) -> api.SIPInboundTrunkInfo:
    return api.SIPInboundTrunkInfo(
        name=TRUNK_NAME,
        numbers=[config.number],
        allowed_addresses=list(config.allowed_addresses),
        auth_username=config.auth_username,
        auth_password=config.auth_password,
        metadata=json.dumps({"managed_by": "manage.py setup_telephony", "config": config.fingerprint()}),
    )


def _trunk_matches(have: api.SIPInboundTrunkInfo, want: api.SIPInboundTrunkInfo) -> bool:
    return (
        have.name == want.name
        and list(have.numbers) == list(want.numbers)
        and sorted(have.allowed_addresses) == sorted(want.allowed_addresses)
        and have.auth_username == want.auth_username
        and have.metadata == want.metadata
    )


async def _sync_trunk(sip, config: LineConfig, dry_run: bool) -> tuple[Change, str]:
    want = _wanted_trunk(config)
    trunks = list((await sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest())).items)
    have = next((t for t in trunks if t.name == TRUNK_NAME), None)
    if have is None:
        # A trunk made by hand for this number would clash with a new one
        # (LiveKit cannot tell which should take the call): adopt it instead.
        have = next((t for t in trunks if config.number in t.numbers), None)
    detail = f"number {config.number}" + (
        f", from {', '.join(config.allowed_addresses)}" if config.allowed_addresses else ""
    ) + (", with digest auth" if config.auth_username else "")
    if have is None:
        created = want if dry_run else await sip.create_inbound_trunk(api.CreateSIPInboundTrunkRequest(trunk=want))
        return Change("inbound trunk", "created", created.sip_trunk_id or "(new)", detail), created.sip_trunk_id
    if _trunk_matches(have, want):
        return Change("inbound trunk", "unchanged", have.sip_trunk_id, detail), have.sip_trunk_id
    if not dry_run:
        want.sip_trunk_id = have.sip_trunk_id
        await sip.update_inbound_trunk(have.sip_trunk_id, want)
    return Change("inbound trunk", "updated", have.sip_trunk_id, detail), have.sip_trunk_id


def _wanted_rule(config: LineConfig, trunk_id: str) -> api.SIPDispatchRuleInfo:
    return api.SIPDispatchRuleInfo(
        name=RULE_NAME,
        trunk_ids=[trunk_id] if trunk_id else [],
        # A room per caller: two people calling at once must never share one.
        rule=api.SIPDispatchRule(
            dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix=config.room_prefix)
        ),
        # Explicit dispatch: the worker registered under this name takes the call.
        room_config=api.RoomConfiguration(agents=[api.RoomAgentDispatch(agent_name=config.agent_name)]),
    )


def _rule_matches(have: api.SIPDispatchRuleInfo, want: api.SIPDispatchRuleInfo) -> bool:
    return (
        have.name == want.name
        and sorted(have.trunk_ids) == sorted(want.trunk_ids)
        and have.rule == want.rule
        and [a.agent_name for a in have.room_config.agents] == [a.agent_name for a in want.room_config.agents]
    )


async def _sync_rule(sip, config: LineConfig, trunk_id: str, dry_run: bool) -> Change:
    want = _wanted_rule(config, trunk_id)
    rules = list((await sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest())).items)
    have = next((r for r in rules if r.name == RULE_NAME), None)
    detail = f"a room per caller ({config.room_prefix}...), agent {config.agent_name!r}"
    if have is None:
        created = want if dry_run else await sip.create_dispatch_rule(
            api.CreateSIPDispatchRuleRequest(dispatch_rule=want))
        return Change("dispatch rule", "created", created.sip_dispatch_rule_id or "(new)", detail)
    if _rule_matches(have, want):
        return Change("dispatch rule", "unchanged", have.sip_dispatch_rule_id, detail)
    if not dry_run:
        want.sip_dispatch_rule_id = have.sip_dispatch_rule_id
        await sip.update_dispatch_rule(have.sip_dispatch_rule_id, want)
    return Change("dispatch rule", "updated", have.sip_dispatch_rule_id, detail)


# --- outbound: the line reminder calls go out on ---------------------------------

OUTBOUND_TRUNK_NAME = "clinic-front-desk-outbound"


@dataclass(frozen=True)
class OutboundConfig:
    number: str  # E.164: the caller ID patients see
    address: str  # the SIP provider's host, e.g. "clinic.pstn.twilio.com"
    auth_username: str = ""
    auth_password: str = field(default="", repr=False)

    def fingerprint(self) -> str:
        data = json.dumps([self.number, self.address, self.auth_username, self.auth_password])
        return hashlib.sha256(data.encode()).hexdigest()[:16]


def outbound_config(*, number: str, address: str, auth_username: str = "", auth_password: str = "") -> OutboundConfig:
    try:
        e164 = normalize_phone(number)
    except Exception as exc:  # InvalidPhoneNumber carries the sentence
        raise TelephonyError(f"The outbound number {number!r} is not usable: {' '.join(exc.messages)}") from None
    address = (address or "").strip()
    if not address or any(ch.isspace() or ch in "/@;" for ch in address):
        raise TelephonyError("--outbound-address must be your SIP provider's host for outgoing calls, such as "
                             f"clinic.pstn.twilio.com, not {address!r}.")
    if bool(auth_username) != bool(auth_password):
        raise TelephonyError("Give both --outbound-auth-username and --outbound-auth-password, or neither.")
    return OutboundConfig(number=e164, address=address, auth_username=auth_username, auth_password=auth_password)


def _wanted_outbound(config: OutboundConfig) -> api.SIPOutboundTrunkInfo:
    return api.SIPOutboundTrunkInfo(
        name=OUTBOUND_TRUNK_NAME,
        address=config.address,
        numbers=[config.number],
        auth_username=config.auth_username,
        auth_password=config.auth_password,
        metadata=json.dumps({"managed_by": "manage.py setup_telephony", "config": config.fingerprint()}),
    )


async def outbound_sync(*, sip, config: OutboundConfig, dry_run: bool = False) -> Change:
    """Make LiveKit's outbound trunk match `config` (found by name, or by number when made by hand)."""
    want = _wanted_outbound(config)
    trunks = list((await sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest())).items)
    have = next((t for t in trunks if t.name == OUTBOUND_TRUNK_NAME), None) or next(
        (t for t in trunks if config.number in t.numbers), None)
    detail = f"calls out as {config.number} via {config.address}" + (
        ", with digest auth" if config.auth_username else "")
    if have is None:
        created = want if dry_run else await sip.create_outbound_trunk(api.CreateSIPOutboundTrunkRequest(trunk=want))
        return Change("outbound trunk", "created", created.sip_trunk_id or "(new)", detail)
    if (have.name, have.address, list(have.numbers), have.auth_username, have.metadata) == (
            want.name, want.address, list(want.numbers), want.auth_username, want.metadata):
        return Change("outbound trunk", "unchanged", have.sip_trunk_id, detail)
    if not dry_run:
        want.sip_trunk_id = have.sip_trunk_id
        await sip.update_outbound_trunk(have.sip_trunk_id, want)
    return Change("outbound trunk", "updated", have.sip_trunk_id, detail)


async def outbound_trunk_id(sip) -> str:
    """The id of the trunk setup_telephony made for reminder calls ("" when there is none)."""
    trunks = (await sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest())).items
    return next((t.sip_trunk_id for t in trunks if t.name == OUTBOUND_TRUNK_NAME), "")
