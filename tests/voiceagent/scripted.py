"""A scripted language model for text-mode conversations: the only fake in the voice tests.

LiveKit ships no fake LLM. This one plays a list of steps, one per model
call: `say("...")` answers with text, `call("tool", **args)` asks for a tool.
A tool argument may be a function of what the model "knows" (`Seen`), so a
script can pick an id the previous tool offered, as a real model would:

    ScriptedLLM([
        call("find_free_times", provider="Dr Khan", day="2026-03-02"),
        say("I have 9:00 or 9:30."),
        call("book_appointment", slot_id=first_slot, confirmed=True),
        say("You're booked."),
    ])

Everything else (the agent, its tools, the session, the context store, the
database) is the real thing.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from livekit.agents import llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions

_ids = itertools.count(1)


@dataclass
class Seen:
    """What the model has in front of it when a step runs."""

    chat_ctx: llm.ChatContext

    @property
    def tool_outputs(self) -> list[str]:
        return [item.output for item in self.chat_ctx.items if item.type == "function_call_output"]

    @property
    def last_output(self) -> str:
        outputs = self.tool_outputs
        return outputs[-1] if outputs else ""

    def ids(self, prefix: str) -> list[str]:
        """Ids like "slot-3" in the latest tool output that mentions any, in order."""
        for output in reversed(self.tool_outputs):
            found = re.findall(rf"\b{prefix}-\d+\b", output)
            if found:
                return list(dict.fromkeys(found))
        return []


def _nth(seen: Seen, prefix: str, n: int) -> str:
    ids = seen.ids(prefix)
    # With nothing offered, a model would make an id up: the tool must refuse it.
    return ids[n] if len(ids) > n else f"{prefix}-0"


def first_slot(seen: Seen) -> str:
    return _nth(seen, "slot", 0)


def second_slot(seen: Seen) -> str:
    return _nth(seen, "slot", 1)


def first_appointment(seen: Seen) -> str:
    return _nth(seen, "appt", 0)


@dataclass
class Step:
    text: str = ""
    tool: str = ""
    args: dict[str, Any] = field(default_factory=dict)


def say(text: str) -> Step:
    return Step(text=text)


def call(tool: str, **args: Any) -> Step:
    return Step(tool=tool, args=args)


def say_and_call(text: str, tool: str, **args: Any) -> Step:
    """Words and a tool call in one reply ("I'm putting you through" + the transfer)."""
    return Step(text=text, tool=tool, args=args)


class ScriptedLLM(llm.LLM):
    def __init__(self, steps: list[Step | Callable[[Seen], Step]]):
        super().__init__()
        self.steps = list(steps)
        self.played: list[Step] = []
        self.exhausted = False

    @property
    def model(self) -> str:
        return "scripted"

    @property
    def provider(self) -> str:
        return "tests"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls=NOT_GIVEN,
        tool_choice=NOT_GIVEN,
        extra_kwargs=NOT_GIVEN,
    ) -> "ScriptedStream":
        return ScriptedStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)

    def next_step(self, seen: Seen) -> Step:
        if not self.steps:
            # A test that runs past its script fails on this text, not on a hang.
            self.exhausted = True
            return say("[the script has ended]")
        step = self.steps.pop(0)
        if callable(step):
            step = step(seen)
        args = {k: (v(seen) if callable(v) else v) for k, v in step.args.items()}
        step = Step(text=step.text, tool=step.tool, args=args)
        self.played.append(step)
        return step


class ScriptedStream(llm.LLMStream):
    async def _run(self) -> None:
        # What the OpenAI plugin does before its request leaves (the chat in
        # its format, every tool's schema): our process's share of a model
        # turn, so bench/voice_bench.py counts it.
        self._chat_ctx.to_provider_format(format="openai")
        llm.ToolContext(self._tools).parse_function_tools("openai", strict=True)
        step = self._llm.next_step(Seen(self._chat_ctx))
        chunk_id = f"scripted-{next(_ids)}"
        if step.tool and step.text:
            self._event_ch.send_nowait(
                llm.ChatChunk(id=chunk_id, delta=llm.ChoiceDelta(role="assistant", content=step.text)))
        if step.tool:
            delta = llm.ChoiceDelta(
                role="assistant",
                tool_calls=[
                    llm.FunctionToolCall(
                        name=step.tool, arguments=json.dumps(step.args), call_id=f"call-{next(_ids)}"
                    )
                ],
            )
        else:
            delta = llm.ChoiceDelta(role="assistant", content=step.text)
        self._event_ch.send_nowait(llm.ChatChunk(id=chunk_id, delta=delta))
        prompt = sum(len(str(getattr(i, "content", ""))) for i in self._chat_ctx.items) // 4
        self._event_ch.send_nowait(
            llm.ChatChunk(
                id=chunk_id,
                usage=llm.CompletionUsage(completion_tokens=12, prompt_tokens=prompt, total_tokens=prompt + 12),
            )
        )
