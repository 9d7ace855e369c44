"""The languages callers speak to the receptionist, and how a call tells which one a caller is using.

A call starts in the caller's remembered language (caller profile) or the
first of CALLER_LANGUAGES, and follows the caller from turn to turn: the
speech-to-text's detected language when it gives one, else the script of
what was heard (Urdu script means Urdu), else the language so far. A turn
with no evidence ("OK", "Dr Khan", a date) never switches.

Each language has its own speech-to-text model and its own voice (an
ElevenLabs model that speaks it, and a voice id): see `voice` and the
README's "Languages" for what was chosen and why.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings

ENGLISH, URDU = "en", "ur"
# The languages with every fixed line (voiceagent.prompts) and spoken dates
# (voiceagent.spoken); voiceagent.models.Language lists the same for the Call record.
SUPPORTED = {ENGLISH: "English", URDU: "Urdu"}

# ElevenLabs models by the languages they speak (of ours), from ElevenLabs'
# model list: flash/turbo v2.5 and multilingual v2 speak English (and Hindi)
# but not Urdu; the v3 family speaks 70+ languages, Urdu among them.
TTS_MODEL_LANGUAGES = {
    "eleven_flash_v2_5": {ENGLISH}, "eleven_turbo_v2_5": {ENGLISH}, "eleven_flash_v2": {ENGLISH},
    "eleven_turbo_v2": {ENGLISH}, "eleven_multilingual_v2": {ENGLISH}, "eleven_multilingual_v1": {ENGLISH},
    "eleven_monolingual_v1": {ENGLISH},
    "eleven_v3": {ENGLISH, URDU}, "eleven_v3_conversational": {ENGLISH, URDU},
}

# Roman Urdu as typed (console --text) or, rarely, transcribed: words that
# are Urdu and not English. Two of them in a short turn is Urdu.
_ROMAN_URDU = frozenset(
    "mujhe mujhay hai hain kya kia nahi nahin aap ap apna apni mera meri hum ham kal parson subah subha "
    "shaam sham dopahar chahiye chahye theek thik acha achha accha shukriya salam assalam walaikum "
    "bhai behen baji kab kahan kaun kitne kitna waqt wakt mulaqat milna karna karwana batayein bataen "
    "bohat bahut abhi phir jee ji haan han".split()
)
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Voice:
    """How the receptionist hears and speaks one language."""

    language: str
    stt_model: str
    tts_model: str
    voice_id: str  # "" for the ElevenLabs plugin's default voice


def caller_languages() -> list[str]:
    """CALLER_LANGUAGES in order; the first is the one a new call opens in and falls back to."""
    return list(settings.CALLER_LANGUAGES)


def fallback() -> str:
    return caller_languages()[0]


def usable(language: str | None) -> str:
    """`language` if callers may use it, else ""."""
    code = (language or "").split("-")[0].lower()
    return code if code in caller_languages() else ""


def voice(language: str) -> Voice:
    """The models and voice for `language`: `<SETTING>_<LANG>` where set (ELEVEN_MODEL_UR), else the plain one."""
    suffix = "" if language == ENGLISH else f"_{language.upper()}"
    return Voice(
        language=language,
        stt_model=getattr(settings, f"OPENAI_STT_MODEL{suffix}", "") or settings.OPENAI_STT_MODEL,
        tts_model=getattr(settings, f"ELEVEN_MODEL{suffix}", "") or settings.ELEVEN_MODEL,
        voice_id=getattr(settings, f"ELEVEN_VOICE_ID{suffix}", "") or settings.ELEVEN_VOICE_ID,
    )


def script_language(text: str) -> str:
    """The language the letters of `text` are written in ("ur", "en"), or "" when they do not say.

    Arabic-script letters are Urdu; so are Devanagari ones, because speech
    recognisers sometimes write spoken Urdu in Hindi script (the two are one
    spoken language). Latin letters are English only with enough words and
    no Roman Urdu among them: "OK" or "Dr Khan" says nothing.
    """
    counts = {"arabic": 0, "devanagari": 0, "latin": 0}
    for ch in text:
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        for script in ("ARABIC", "DEVANAGARI", "LATIN"):
            if name.startswith(script):
                counts[script.lower()] += 1
    letters = sum(counts.values())
    if not letters:
        return ""
    if (counts["arabic"] + counts["devanagari"]) / letters >= 0.5:
        return URDU
    words = [w.lower() for w in _WORD.findall(text)]
    roman_urdu = sum(w in _ROMAN_URDU for w in words)
    if roman_urdu >= 2 and roman_urdu * 4 >= len(words):
        return URDU
    if counts["latin"] / letters >= 0.9 and len(words) >= 3 and roman_urdu == 0:
        return ENGLISH
    return ""


def follow(current: str, *, text: str, stt_language: str | None = None) -> str:
    """The caller's language after a turn: what the recogniser detected, else the script, else `current`."""
    return usable(stt_language) or usable(script_language(text)) or current


def use_voice(tts, language: str) -> None:
    """Point the call's ElevenLabs voice at `language` (its model and voice), if it is not there already.

    Changing model or voice opens a new connection to ElevenLabs for the
    next sentence (speech under way finishes on the old one), so this costs
    only on a change of language.
    """
    from livekit.plugins import elevenlabs
    from livekit.plugins.elevenlabs.tts import DEFAULT_VOICE_ID

    if not isinstance(tts, elevenlabs.TTS):
        return  # text mode, or another provider in a test
    chosen = voice(language)
    tts.update_options(model=chosen.tts_model, voice_id=chosen.voice_id or DEFAULT_VOICE_ID, language=language)


def use_stt(stt, language: str) -> None:
    """Transcribe the caller's next turns with `language`'s speech-to-text model (detection stays on)."""
    from livekit.plugins import openai

    if isinstance(stt, openai.STT) and stt.model != voice(language).stt_model:
        stt.update_options(model=voice(language).stt_model)
