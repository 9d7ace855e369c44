"""What a call would otherwise import or build on its own, done once in the voice worker's forkserver.

Every call's process is forked from the forkserver and shares its memory
copy-on-write. A module a call imports for itself is that call's private
copy (and a pause on its event loop): bench/voice_memory_bench.py lists the
modules a call imports, and these are them. LiveKit freezes everything
preloaded (gc.freeze) after the last preload module, so none of this is
copied later by the garbage collector either.

Like voiceagent.boot it must not touch the database or Redis: a connection
opened here would be one socket shared by every forked call.
"""

import channels_redis.core  # noqa: F401 - the live panel's channel layer (and msgpack, fernet)
import django.db.models.sql.compiler  # noqa: F401 - the ORM's first query imports it (~6 MB per call)
import livekit.agents.llm.async_toolset  # noqa: F401 - the session imports it when the tools are set up
import phonenumbers
from django.conf import settings
from django.utils import formats

from livekit.agents import llm

from voiceagent.agent import Receptionist, tls_context

# Spoken dates read the locale's format module; callers' numbers read the
# clinic region's numbering plan. Both are loaded on first use, then cached.
formats.get_format("DATE_FORMAT")
phonenumbers.example_number(settings.PHONE_REGION)
# The CA store, loaded once for every call's HTTPS to the model providers.
tls_context()
# The tools' JSON schemas, as every request to the model sends them (kept
# by voiceagent.agent.cache_tool_schemas).
llm.ToolContext(Receptionist(None, instructions="", greeting=[]).tools).parse_function_tools("openai", strict=True)
