"""Which language a caller speaks, turn by turn, and the per-language settings checked before the worker starts."""

from __future__ import annotations

import pytest

from voiceagent import config, languages


@pytest.mark.parametrize("text, language", [
    ("مجھے کل ڈاکٹر خان سے ملنا ہے", "ur"),
    ("मुझे कल डॉक्टर से मिलना है", "ur"),  # spoken Urdu written in Hindi script by the recogniser
    ("Dr Khan کے ساتھ کل صبح", "ur"),
    ("mujhe kal subah ka waqt chahiye", "ur"),  # Roman Urdu, as typed in console --text
    ("I'd like to see Dr Khan tomorrow", "en"),
    ("OK", ""),
    ("Dr Khan", ""),
    ("9:30", ""),
    ("yes ji", ""),
    ("", ""),
])
def test_the_script_of_what_was_heard_says_the_language_or_nothing(text, language):
    assert languages.script_language(text) == language


def test_a_turn_follows_the_recogniser_then_the_script_then_stays(settings):
    settings.CALLER_LANGUAGES = ["en", "ur"]
    assert languages.follow("en", text="Hello there, how are you", stt_language="ur") == "ur"
    assert languages.follow("en", text="ٹھیک ہے", stt_language=None) == "ur"
    assert languages.follow("ur", text="OK", stt_language=None) == "ur"
    assert languages.follow("ur", text="Can we speak English please", stt_language="") == "en"
    # A language callers may not use (a recogniser's guess of French) changes nothing.
    assert languages.follow("en", text="merci", stt_language="fr") == "en"
    settings.CALLER_LANGUAGES = ["en"]
    assert languages.follow("en", text="مجھے وقت چاہیے", stt_language="ur") == "en"


def test_each_language_has_its_own_models_and_voice(settings):
    settings.OPENAI_STT_MODEL, settings.OPENAI_STT_MODEL_UR = "gpt-4o-mini-transcribe", ""
    settings.ELEVEN_MODEL, settings.ELEVEN_MODEL_UR = "eleven_flash_v2_5", "eleven_v3_conversational"
    settings.ELEVEN_VOICE_ID, settings.ELEVEN_VOICE_ID_UR = "EnglishVoice0123456789", ""
    assert languages.voice("en") == languages.Voice("en", "gpt-4o-mini-transcribe", "eleven_flash_v2_5",
                                                    "EnglishVoice0123456789")
    # Unset for Urdu: the plain setting, except the voice model, whose default speaks Urdu.
    assert languages.voice("ur") == languages.Voice("ur", "gpt-4o-mini-transcribe", "eleven_v3_conversational",
                                                    "EnglishVoice0123456789")


@pytest.mark.parametrize("changes, message", [
    ({"CALLER_LANGUAGES": ["en", "fr"]}, "CALLER_LANGUAGES must list, once each, languages from en (English), "
                                         "ur (Urdu), such as 'en,ur', not 'en,fr'."),
    ({"CALLER_LANGUAGES": ["ur", "ur"]}, "CALLER_LANGUAGES must list, once each"),
    ({"CALLER_LANGUAGES": []}, "CALLER_LANGUAGES must list, once each"),
    ({"ELEVEN_MODEL_UR": "eleven_flash_v2_5"}, "ELEVEN_MODEL_UR is 'eleven_flash_v2_5', which does not speak "
                                               "Urdu: use eleven_v3 or eleven_v3_conversational."),
    ({"ELEVEN_MODEL_UR": "eleven_v9"}, "ELEVEN_MODEL_UR must be one of eleven_flash_v2_5, eleven_turbo_v2_5"),
    ({"ELEVEN_VOICE_ID_UR": "Nadia"}, "ELEVEN_VOICE_ID_UR must be a voice id from the ElevenLabs voice library"),
    ({"OPENAI_STT_MODEL_UR": "gpt 4o"}, "OPENAI_STT_MODEL_UR must name one model, such as 'gpt-4o-mini-transcribe'"),
])
def test_language_settings_are_checked_before_the_worker_starts(settings, changes, message):
    settings.CALLER_LANGUAGES = ["en", "ur"]
    for name, value in changes.items():
        setattr(settings, name, value)
    assert any(problem.startswith(message) for problem in config.problems("console")), config.problems("console")


def test_the_default_languages_and_voices_pass(settings):
    settings.OPENAI_API_KEY, settings.ELEVEN_API_KEY = "sk-x", "el-x"
    assert config.problems("console") == []


def test_the_old_stt_language_setting_is_named_not_ignored(settings, monkeypatch):
    settings.OPENAI_API_KEY, settings.ELEVEN_API_KEY = "sk-x", "el-x"
    monkeypatch.setenv("STT_LANGUAGE", "en")
    assert config.problems("console") == [
        "STT_LANGUAGE is no longer read: list the languages callers speak in CALLER_LANGUAGES (default en,ur); "
        "speech-to-text detects which one each caller uses."]
