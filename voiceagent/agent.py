"""The phone receptionist: the LiveKit job entrypoint (work in progress)."""

from __future__ import annotations

from livekit.agents import JobContext


async def entrypoint(ctx: JobContext) -> None:
    """One phone call: connect, answer the SIP caller, run the conversation, record it."""
    raise NotImplementedError("the receptionist is being built (issue #4)")
