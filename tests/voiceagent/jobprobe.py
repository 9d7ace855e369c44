"""A stand-in conversation for tests of the worker's job processes.

LiveKit sends the entrypoint to a job process by reference, so it lives in a
module the job process imports. The model import at the top is the point:
it fails with AppRegistryNotReady unless the worker set Django up in the
forkserver before forking the job process.
"""

import os

from asgiref.sync import sync_to_async
from django.db import connection, connections
from django.utils import timezone
from livekit.agents import JobContext

from voiceagent.models import Call


async def entrypoint(ctx: JobContext) -> None:
    vad = ctx.proc.userdata.get("vad")
    await Call.objects.acreate(
        room=ctx.job.room.name,
        started_at=timezone.now(),
        # What the test reads back: which VAD the prewarm left, and from which process.
        caller_name=f"{type(vad).__module__}.{type(vad).__name__}"[:120],
        usage={"pid": os.getpid(), "vendor": connection.vendor},
    )
    # As a real call does at its end (voiceagent.agent.close_db): the process
    # is about to exit, but a connection left to die with it lingers on the
    # server for a while. close_all is looked up on the ORM's own thread;
    # `connection.close` taken here would be this event loop thread's
    # connection, which Django refuses to touch from another thread.
    await sync_to_async(connections.close_all)()
    ctx.shutdown("probe done")
