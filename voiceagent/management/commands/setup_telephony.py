"""`manage.py setup_telephony`: point the clinic's phone number at the phone agent in LiveKit.

    manage.py setup_telephony
    manage.py setup_telephony --allowed-address 54.172.60.0/30 --allowed-address 54.244.51.0/30
    manage.py setup_telephony --auth-username clinic --auth-password '...' --dry-run
    manage.py setup_telephony --outbound-number +924235761234 --outbound-address clinic.pstn.twilio.com

Creates or updates the SIP inbound trunk for the clinic's number
(SIP_TRUNK_NUMBER, else the clinic phone in the clinic profile) and the
dispatch rule that sends each call to a room of its own with this agent
(VOICE_AGENT_NAME), then prints what it created, updated or left unchanged.
With --outbound-number it also creates or updates the outbound trunk that
reminder calls (voiceagent.outbound) go out on. Safe to run again: it
changes only what differs. Your SIP provider's side
(pointing the number at LiveKit's SIP address) is set up in their console.
"""

from __future__ import annotations

import asyncio

import aiohttp
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from livekit import api

from voiceagent import config, telephony


class Command(BaseCommand):
    help = "Create or update the LiveKit SIP trunk and dispatch rule for the clinic's number (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--number", default="", help="The clinic's number (default: SIP_TRUNK_NUMBER, "
                            "else the clinic phone in the admin).")
        parser.add_argument("--allowed-address", action="append", default=[], dest="allowed_addresses",
                            metavar="IP_OR_CIDR", help="Accept calls only from your SIP provider's addresses "
                            "(repeat for each range). Recommended.")
        parser.add_argument("--auth-username", default="", help="Digest auth your SIP provider sends.")
        parser.add_argument("--auth-password", default="", help="Its password (visible to other users in "
                            "the process list while this runs).")
        parser.add_argument("--room-prefix", default=telephony.ROOM_PREFIX, help="Rooms are named "
                            "<prefix><random>; the live calls panel shows them.")
        parser.add_argument("--outbound-number", default="", help="Also create or update the outbound trunk "
                            "reminder calls use, calling out as this number (the caller ID patients see).")
        parser.add_argument("--outbound-address", default="", help="Your SIP provider's host for outgoing "
                            "calls, e.g. clinic.pstn.twilio.com (with --outbound-number).")
        parser.add_argument("--outbound-auth-username", default="", help="Digest auth for outgoing calls.")
        parser.add_argument("--outbound-auth-password", default="", help="Its password.")
        parser.add_argument("--dry-run", action="store_true", help="Show what would change; change nothing.")

    def handle(self, *, number, allowed_addresses, auth_username, auth_password, room_prefix, dry_run,
               outbound_number, outbound_address, outbound_auth_username, outbound_auth_password, **options):
        missing = [name for name in config.LIVEKIT if not getattr(settings, name).strip()]
        if missing:
            raise CommandError(f"Set {', '.join(missing)} first: the trunk and dispatch rule live in your LiveKit "
                               "project (README, 'Phone agent').")
        bad = [p for p in config.problems("start") if p.startswith(("LIVEKIT_URL", "VOICE_AGENT_NAME"))]
        if bad:
            raise CommandError(" ".join(bad))
        try:
            line = telephony.line_config(
                number=number or telephony.clinic_number(), agent_name=settings.VOICE_AGENT_NAME,
                allowed_addresses=allowed_addresses, auth_username=auth_username, auth_password=auth_password,
                room_prefix=room_prefix,
            )
            outbound = None
            if outbound_number or outbound_address:
                outbound = telephony.outbound_config(
                    number=outbound_number, address=outbound_address, auth_username=outbound_auth_username,
                    auth_password=outbound_auth_password)
        except telephony.TelephonyError as exc:
            raise CommandError(str(exc)) from None

        changes = asyncio.run(self._sync(line, outbound, dry_run))
        prefix = "Would be " if dry_run else ""
        for change in changes:
            style = self.style.SUCCESS if change.action != "unchanged" else (lambda text: text)
            self.stdout.write(style(f"{prefix}{change}"))
        if not line.allowed_addresses and not line.auth_username:
            self.stdout.write(self.style.WARNING(
                "The trunk accepts calls to this number from any address: add --allowed-address with your "
                "SIP provider's ranges, or --auth-username/--auth-password."))

    async def _sync(self, line, outbound, dry_run):
        try:
            async with telephony.livekit_sip() as sip:
                changes = await telephony.telephony_sync(sip=sip, config=line, dry_run=dry_run)
                if outbound:
                    changes.append(await telephony.outbound_sync(sip=sip, config=outbound, dry_run=dry_run))
                return changes
        except api.TwirpError as exc:
            raise CommandError(f"LiveKit refused: {exc.message} ({exc.code}). Check LIVEKIT_API_KEY/SECRET "
                               "and that SIP is enabled for the project.") from None
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            raise CommandError(f"Could not reach LiveKit at {settings.LIVEKIT_URL}: {exc}") from None
