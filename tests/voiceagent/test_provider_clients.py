"""The provider clients a call builds (voiceagent.agent.provider_models), against a local OpenAI-compatible server.

No network: a small aiohttp server on this machine stands in for OpenAI
through its public HTTP interface, which is what OPENAI_BASE_URL is for.
"""

from __future__ import annotations

import contextlib
import json

from aiohttp import web
from livekit.agents import llm

from voiceagent.agent import provider_models


@contextlib.asynccontextmanager
async def local_openai(settings, path: str, handler):
    """An OpenAI-compatible server on this machine answering `path`, with OPENAI_BASE_URL pointing at it."""
    app = web.Application()
    app.router.add_post(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v1"
    settings.OPENAI_API_KEY, settings.ELEVEN_API_KEY = "sk-local", "no-network"
    try:
        yield
    finally:
        await runner.cleanup()


async def test_the_language_model_talks_to_openai_base_url_with_the_key(settings):
    seen = []

    async def completions(request: web.Request) -> web.StreamResponse:
        seen.append((request.path, request.headers.get("Authorization"), (await request.json())["model"]))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "local",
                 "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Good morning."},
                              "finish_reason": "stop"}]}
        await response.write(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())
        return response

    settings.OPENAI_LLM_MODEL = "local-model"
    async with local_openai(settings, "/v1/chat/completions", completions):
        stt, model, tts = provider_models()
        chat = llm.ChatContext()
        chat.add_message(role="user", content="Hello?")
        text = ""
        async with model.chat(chat_ctx=chat) as stream:
            async for chunk in stream:
                if chunk.delta and chunk.delta.content:
                    text += chunk.delta.content

    assert text == "Good morning."
    assert seen == [("/v1/chat/completions", "Bearer sk-local", "local-model")]


def test_tool_schemas_are_livekits_own_built_once_per_process():
    from livekit.agents.llm import utils as llm_utils

    from voiceagent.agent import Receptionist

    tools = Receptionist(None, instructions="", greeting=[]).tools
    sent = llm.ToolContext(tools).parse_function_tools("openai", strict=True)
    # What LiveKit would build afresh, tool by tool (the cache wraps its builder).
    fresh = [llm_utils.build_strict_openai_schema.__wrapped__(tool) for tool in tools]
    assert sent == fresh and len(sent) == 13
    find = next(s for s in sent if s["function"]["name"] == "find_free_times")["function"]
    assert find["strict"] is True and set(find["parameters"]["properties"]) == {"provider", "day", "time_of_day", "time"}
    # Another call's agent gets equal schemas, each request its own copy.
    again = llm.ToolContext(Receptionist(None, instructions="", greeting=[]).tools).parse_function_tools("openai")
    assert again == sent and again[0] is not sent[0]


async def test_speech_to_text_detects_the_language_and_the_voice_follows_it(settings):
    """Several caller languages: the transcription request names none (the model detects it), and a
    detected language comes back on the transcript; each language gets its own voice and STT model."""
    from livekit import rtc
    from livekit.plugins.elevenlabs.tts import DEFAULT_VOICE_ID

    from voiceagent import languages

    seen = []

    async def transcriptions(request: web.Request) -> web.Response:
        form = await request.post()
        seen.append({key: form[key] for key in form if key != "file"})
        return web.json_response({"text": "مجھے کل صبح کا وقت چاہیے", "languages": [{"code": "ur"}]})

    settings.CALLER_LANGUAGES = ["en", "ur"]
    settings.OPENAI_STT_MODEL, settings.OPENAI_STT_MODEL_UR = "gpt-4o-mini-transcribe", "gpt-4o-transcribe"
    settings.ELEVEN_VOICE_ID, settings.ELEVEN_VOICE_ID_UR = "", "UrduVoice0123456789ab"
    async with local_openai(settings, "/v1/audio/transcriptions", transcriptions):
        stt, _model, tts = provider_models()
        frame = rtc.AudioFrame(data=b"\0\0" * 1600, sample_rate=16000, num_channels=1, samples_per_channel=1600)
        event = await stt.recognize(buffer=[frame])
        languages.use_stt(stt, "ur")
        await stt.recognize(buffer=[frame])

    assert event.alternatives[0].text == "مجھے کل صبح کا وقت چاہیے"
    assert event.alternatives[0].language == "ur"
    # No language sent (detection), then Urdu's own model once the caller is known to speak it.
    assert [(s.get("model"), "language" in s) for s in seen] == [
        ("gpt-4o-mini-transcribe", False), ("gpt-4o-transcribe", False)]
    # The first voice is English's, on the low-latency model; Urdu moves it to a model that speaks Urdu.
    assert (tts.model, tts._opts.voice_id, tts._opts.language) == ("eleven_flash_v2_5", DEFAULT_VOICE_ID, "en")
    languages.use_voice(tts, "ur")
    assert (tts.model, tts._opts.voice_id, tts._opts.language) == (
        "eleven_v3_conversational", "UrduVoice0123456789ab", "ur")
    languages.use_voice(tts, "en")
    assert (tts.model, tts._opts.voice_id) == ("eleven_flash_v2_5", DEFAULT_VOICE_ID)


async def test_each_reply_is_voiced_in_the_language_it_is_written_in():
    from voiceagent.agent import first_words
    from voiceagent.languages import script_language

    async def stream(*chunks):
        for chunk in chunks:
            yield chunk

    head, whole = await first_words(stream("جی", " بالکل، ", "کل صبح نو بجے", " آ جائیں۔", " Dr Khan"))
    assert script_language(head) == "ur"
    assert "".join([c async for c in whole]) == "جی بالکل، کل صبح نو بجے آ جائیں۔ Dr Khan"
    head, whole = await first_words(stream("Of course. ", "Your appointment is at ", "9:30."))
    assert head == "Of course. " and script_language("Your appointment is at 9:30 on Monday") == "en"
    assert "".join([c async for c in whole]) == "Of course. Your appointment is at 9:30."
    head, whole = await first_words(stream())
    assert head == "" and [c async for c in whole] == []
