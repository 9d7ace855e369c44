"""Which settings the voice worker needs, checked before it starts.

`manage.py run_voice_agent` refuses to start while any are missing or
malformed, and `manage.py up` uses the same check to decide whether to start
the worker beside the web app. A typo found here costs a second at start-up;
found by LiveKit or a provider, it costs a caller hearing silence.

What a mode needs: `start`, `dev` and `connect` register with a LiveKit
server and speak through the providers; `console` runs the agent on this
machine's terminal without any LiveKit server, so it needs only the model
providers.
"""

import os
import re
from typing import Literal
from urllib.parse import urlparse

from django.conf import settings

from voiceagent import languages

Mode = Literal["start", "dev", "connect", "console"]

LIVEKIT = {
    "LIVEKIT_URL": "your LiveKit server, e.g. wss://your-project.livekit.cloud",
    "LIVEKIT_API_KEY": "a LiveKit API key",
    "LIVEKIT_API_SECRET": "the secret of that API key",
}
PROVIDERS = {
    "OPENAI_API_KEY": "for speech-to-text and the language model (any key for a local OpenAI-compatible server)",
    "ELEVEN_API_KEY": "for the ElevenLabs voice",
}
# Kept for callers that want the whole list (the README table, `manage.py up`).
REQUIRED = {**LIVEKIT, **PROVIDERS}

# The ElevenLabs models the plugin knows; anything else fails on the first
# sentence of the first call, so refuse it here.
ELEVEN_MODELS = (
    "eleven_flash_v2_5", "eleven_turbo_v2_5", "eleven_flash_v2", "eleven_turbo_v2",
    "eleven_multilingual_v2", "eleven_multilingual_v1", "eleven_monolingual_v1",
    "eleven_v3", "eleven_v3_conversational", "eleven_v4", "eleven_v4_turbo",
)
_VOICE_ID = re.compile(r"[A-Za-z0-9]{16,40}")
_AGENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def required_for(mode: Mode = "start") -> dict[str, str]:
    return dict(PROVIDERS) if mode == "console" else dict(REQUIRED)


def missing_names(mode: Mode = "start") -> list[str]:
    return [name for name in required_for(mode) if not getattr(settings, name).strip()]


def problems(mode: Mode = "start") -> list[str]:
    """One sentence per missing or malformed setting; empty when the worker can start in `mode`."""
    found = [f"{name} is not set: {required_for(mode)[name]}." for name in missing_names(mode)]

    for name in required_for(mode):
        value = getattr(settings, name)
        if value.strip() and value != value.strip():
            # A key pasted with its newline authenticates nowhere, and the
            # provider's answer does not say why.
            found.append(f"{name} has spaces or a line break around it; set it without them.")

    if mode != "console":
        url = settings.LIVEKIT_URL.strip()
        parsed = urlparse(url)
        if url and (parsed.scheme not in ("ws", "wss", "http", "https") or not parsed.hostname):
            found.append(f"LIVEKIT_URL must look like wss://host or ws://host:port, not {url!r}.")
        if not _AGENT_NAME.fullmatch(settings.VOICE_AGENT_NAME):
            found.append(
                "VOICE_AGENT_NAME must be letters, digits, '-', '_' or '.' (the SIP dispatch rule "
                f"names it), not {settings.VOICE_AGENT_NAME!r}."
            )

    base_url = settings.OPENAI_BASE_URL.strip()
    if base_url:
        parsed = urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            found.append(f"OPENAI_BASE_URL must be an http(s) URL such as http://localhost:8080/v1, not {base_url!r}.")
    for name in ("OPENAI_LLM_MODEL", "OPENAI_STT_MODEL", "OPENAI_STT_MODEL_UR"):
        value = getattr(settings, name)
        if (name != "OPENAI_STT_MODEL_UR" and not value) or any(ch.isspace() for ch in value):
            found.append(f"{name} must name one model, such as {_default(name.removesuffix('_UR'))!r}, not {value!r}.")
    if os.environ.get("STT_LANGUAGE"):
        found.append("STT_LANGUAGE is no longer read: list the languages callers speak in CALLER_LANGUAGES "
                     "(default en,ur); speech-to-text detects which one each caller uses.")
    found += _language_problems()
    for name in ("ELEVEN_VOICE_ID", "ELEVEN_VOICE_ID_UR"):
        value = getattr(settings, name)
        if value and not _VOICE_ID.fullmatch(value):
            found.append(
                f"{name} must be a voice id from the ElevenLabs voice library (about 20 letters "
                f"and digits), not {value!r}; leave it empty for the default voice."
            )
    return found


def _language_problems() -> list[str]:
    """CALLER_LANGUAGES names languages we have every line for, and each has a voice that speaks it."""
    codes = settings.CALLER_LANGUAGES
    supported = ", ".join(f"{code} ({name})" for code, name in languages.SUPPORTED.items())
    unknown = [code for code in codes if code not in languages.SUPPORTED]
    if not codes or unknown or len(set(codes)) != len(codes):
        return [f"CALLER_LANGUAGES must list, once each, languages from {supported}, such as 'en,ur', "
                f"not {','.join(codes)!r}."]
    found = []
    for code in codes:
        model = languages.voice(code).tts_model
        name = "ELEVEN_MODEL" + ("" if code == languages.ENGLISH else f"_{code.upper()}")
        if model not in ELEVEN_MODELS:
            found.append(
                f"{name} must be one of {', '.join(ELEVEN_MODELS[:2])} (lowest latency) or another "
                f"ElevenLabs model, not {model!r}."
            )
        elif code not in languages.TTS_MODEL_LANGUAGES.get(model, {code}):
            speaking = [m for m, spoken in languages.TTS_MODEL_LANGUAGES.items() if code in spoken]
            found.append(f"{name} is {model!r}, which does not speak {languages.SUPPORTED[code]}: use "
                         f"{' or '.join(speaking[-2:])}.")
    return found


def _default(name: str) -> str:
    return {"OPENAI_LLM_MODEL": "gpt-4.1-mini", "OPENAI_STT_MODEL": "gpt-4o-mini-transcribe"}[name]
