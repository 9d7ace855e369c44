"""The live-calls WebSocket: initial state, then events (DESIGN.md section 4).

One consumer per open dashboard tab. On connect it joins the live-calls
group *before* reading the snapshot, so an event that happens while the
snapshot is read is queued rather than lost; the browser applies events by
room and `updated_at`, so seeing one twice is harmless.

A call whose voice worker died sends no `call.ended`; its Redis record just
expires. So the consumer also re-sends the snapshot every
`SNAPSHOT_SECONDS`, and open panels drop such calls without a reload. The
timer does not send it itself: it posts a `snapshot.refresh` message to the
consumer's own channel, so the refresh is handled in turn with the group
events and a snapshot never overtakes an event that came before it. On the
same beat it checks that the session still exists, was signed in with the
account's current password and the user may still use the dashboard: a tab
that signed out (or whose password changed, or whose account lost the role) stops
receiving health data within `SNAPSHOT_SECONDS`.

Messages the browser receives:

    {"type": "snapshot", "calls": [call, ...]}       replaces what it shows
    {"type": "call.updated", "call": call}            add or change one row
    {"type": "call.ended", "room": room}              remove one row
    {"type": "appointment.changed", "appointment": {id, action, status, ...}}
    {"type": "callback.changed", "callback": {id, status}, "open": n}
    {"type": "unavailable"}                           Redis is not answering
    {"type": "refused", "reason": text}               a message from it was not understood
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import HASH_SESSION_KEY, get_user_model
from django.utils.crypto import constant_time_compare

from clinic.access import can_use_dashboard
from voiceagent import livecalls

log = logging.getLogger(__name__)

# Close code for "not allowed" (4000-4999 are the application's own).
CLOSE_FORBIDDEN = 4403
# A dead worker's record expires TTL_SECONDS (45) after its last heartbeat;
# with a refresh every 15 s its row is gone from open panels within a minute.
SNAPSHOT_SECONDS = 15
# The browser only ever sends {"type": "snapshot"}.
MESSAGE_LIMIT = 1000


class LiveCallsConsumer(AsyncJsonWebsocketConsumer):
    groups = []  # joined by hand in connect(), after the permission check

    async def connect(self):
        self.joined = False
        self.refresher = None
        user = self.scope.get("user")
        if not await database_sync_to_async(can_use_dashboard)(user):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.channel_layer.group_add(livecalls.GROUP, self.channel_name)
        self.joined = True
        await self.accept()
        await self.send_snapshot()
        self.refresher = asyncio.create_task(self._refresh())

    async def disconnect(self, code):
        if self.refresher:
            self.refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.refresher
        if self.joined:
            await self.channel_layer.group_discard(livecalls.GROUP, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # Only small JSON text is understood: anything else (binary frames,
        # broken or huge JSON) gets a polite refusal, not a closed socket and
        # an error traceback in the log.
        if text_data is None or len(text_data) > MESSAGE_LIMIT:
            await self.send_json({"type": "refused", "reason": "Send small JSON text messages only."})
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            await self.send_json({"type": "refused", "reason": "That message is not JSON."})
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content, **kwargs):
        # The browser may ask for the state again (after waking from sleep, say).
        if isinstance(content, dict) and content.get("type") == "snapshot":
            await self.send_snapshot()
            return
        await self.send_json({"type": "refused", "reason": 'Unknown message: only {"type": "snapshot"} is understood.'})

    async def send_snapshot(self):
        try:
            calls = await livecalls.aactive_calls()
        except Exception as exc:  # noqa: BLE001 - Redis away: keep the socket, say so
            log.warning("live calls snapshot failed (%s)", type(exc).__name__)
            await self.send_json({"type": "unavailable"})
            return
        await self.send_json({"type": "snapshot", "calls": calls})

    async def _refresh(self):
        while True:
            await asyncio.sleep(SNAPSHOT_SECONDS)
            try:
                await self.channel_layer.send(self.channel_name, {"type": "snapshot.refresh"})
            except Exception as exc:  # noqa: BLE001 - try again next time
                log.warning("live calls refresh not queued (%s)", type(exc).__name__)

    async def snapshot_refresh(self, event):
        if not await self._still_allowed():
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.send_snapshot()

    @database_sync_to_async
    def _still_allowed(self) -> bool:
        session = self.scope.get("session")
        user = self.scope.get("user")
        if session is None or not session.session_key or not session.exists(session.session_key):
            return False
        fresh = get_user_model().objects.filter(pk=user.pk).first()
        if fresh is None or not can_use_dashboard(fresh):
            return False
        # A password change signs the account out everywhere: the hash the
        # session was signed in with no longer matches.
        return constant_time_compare(session.get(HASH_SESSION_KEY, ""), fresh.get_session_auth_hash())

    # Group events: the dict sent to the group is exactly what the browser gets.

    async def call_updated(self, event):
        await self.send_json(event)

    async def call_ended(self, event):
        await self.send_json(event)

    async def appointment_changed(self, event):
        await self.send_json(event)

    async def callback_changed(self, event):
        await self.send_json(event)
