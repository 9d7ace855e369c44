"""Which settings the voice worker needs, checked before it starts.

`manage.py run_voice_agent` refuses to start while any are missing or
malformed, and `manage.py up` uses the same check to decide whether to start
the worker beside the web app.
"""

from urllib.parse import urlparse

from django.conf import settings

REQUIRED = {
    "LIVEKIT_URL": "your LiveKit server, e.g. wss://your-project.livekit.cloud",
    "LIVEKIT_API_KEY": "a LiveKit API key",
    "LIVEKIT_API_SECRET": "its secret",
    "OPENAI_API_KEY": "for speech-to-text and the language model (any key for a local OpenAI-compatible server)",
    "ELEVEN_API_KEY": "for the ElevenLabs voice",
}


def problems() -> list[str]:
    """One sentence per missing or malformed setting; empty when the worker can start."""
    found = [f"{name} is not set ({why})." for name, why in REQUIRED.items() if not getattr(settings, name)]
    if settings.LIVEKIT_URL and urlparse(settings.LIVEKIT_URL).scheme not in ("ws", "wss", "http", "https"):
        found.append(f"LIVEKIT_URL must start with wss:// or ws://, not {settings.LIVEKIT_URL!r}.")
    if settings.OPENAI_BASE_URL and urlparse(settings.OPENAI_BASE_URL).scheme not in ("http", "https"):
        found.append(f"OPENAI_BASE_URL must be an http(s) URL, not {settings.OPENAI_BASE_URL!r}.")
    return found


def missing_names() -> list[str]:
    return [name for name in REQUIRED if not getattr(settings, name)]
