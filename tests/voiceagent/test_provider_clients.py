"""The provider clients a call builds (voiceagent.agent.provider_models), against a local OpenAI-compatible server.

No network: a small aiohttp server on this machine stands in for OpenAI
through its public HTTP interface, which is what OPENAI_BASE_URL is for.
"""

from __future__ import annotations

import json

from aiohttp import web
from livekit.agents import llm

from voiceagent.agent import provider_models


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

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{port}/v1"
    settings.OPENAI_API_KEY, settings.OPENAI_LLM_MODEL = "sk-local", "local-model"
    settings.ELEVEN_API_KEY = "no-network"
    try:
        stt, model, tts = provider_models()
        chat = llm.ChatContext()
        chat.add_message(role="user", content="Hello?")
        text = ""
        async with model.chat(chat_ctx=chat) as stream:
            async for chunk in stream:
                if chunk.delta and chunk.delta.content:
                    text += chunk.delta.content
    finally:
        await runner.cleanup()

    assert text == "Good morning."
    assert seen == [("/v1/chat/completions", "Bearer sk-local", "local-model")]


def test_tool_schemas_are_livekits_own_built_once_per_process():
    from livekit.agents.llm import utils as llm_utils

    from voiceagent.agent import Receptionist

    tools = Receptionist(None, instructions="", greeting="").tools
    sent = llm.ToolContext(tools).parse_function_tools("openai", strict=True)
    # What LiveKit would build afresh, tool by tool (the cache wraps its builder).
    fresh = [llm_utils.build_strict_openai_schema.__wrapped__(tool) for tool in tools]
    assert sent == fresh and len(sent) == 11
    find = next(s for s in sent if s["function"]["name"] == "find_free_times")["function"]
    assert find["strict"] is True and set(find["parameters"]["properties"]) == {"provider", "day", "time_of_day", "time"}
    # Another call's agent gets equal schemas, each request its own copy.
    again = llm.ToolContext(Receptionist(None, instructions="", greeting="").tools).parse_function_tools("openai")
    assert again == sent and again[0] is not sent[0]
