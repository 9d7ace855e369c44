"""`manage.py simulate_calls`: made-up calls moving through the Live calls panel.

Drives calls through `voiceagent.livecalls.LiveCall`, the interface the voice
agent uses, from this process: start with a made-up caller, then greeting ->
identifying -> choosing a time (provider and requested slot) -> booking ->
wrapping up, then end. Nothing is written to the database; the callers are
invented (names from a fixed list, numbers in a +92 399 range that the
demo data never hands out), never real patients. The providers and times
they ask for are the clinic's own: active providers and free times the
scheduling engine offers (so closed days and days off never come up).

Steps of one run:
1. start the private Redis when REDIS_URL is unset and nobody runs it
   (stopped again on the way out); read the clinic's providers and some of
   their free times in the coming week (a clinic with no providers gets
   calls that never reach a time);
2. run `--calls` calls at a time, each lasting about `--duration` seconds and
   changing stage every `--interval` seconds, heartbeating meanwhile;
3. with `--once` stop after one round; otherwise (`--forever`, the default)
   start a new call whenever one ends;
4. on Ctrl+C (or SIGTERM) end every open call, so the panel empties at once.

`--updates-per-second` makes each call re-send its state that often (the
benchmark's load); the stage flow is unchanged.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from clinic import redis_server
from scheduling import selectors
from voiceagent.livecalls import HEARTBEAT_SECONDS, LiveCall, Stage

FIRST_NAMES = ["Ayesha", "Bilal", "Farah", "Hamza", "Imran", "Mariam", "Nadia", "Omar", "Sana", "Usman", "Zainab"]
LAST_NAMES = ["Sample", "Example", "Testwala", "Demo", "Placeholder"]  # plainly not real people
FLOW = [Stage.GREETING, Stage.IDENTIFYING, Stage.CHOOSING_SLOT, Stage.BOOKING, Stage.WRAPPING_UP]
# How many providers' diaries are read at start, and free times kept of each.
SAMPLE_PROVIDERS = 12
TIMES_PER_PROVIDER = 6


def made_up_caller(rng: random.Random, n: int) -> tuple[str, str]:
    """A name and number that belong to nobody. Every fifth caller withholds the number."""
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    phone = "" if n % 5 == 4 else f"+92399{rng.randrange(10**7):07d}"
    return name, phone


def clinic_times(rng: random.Random) -> list[tuple[str, datetime]]:
    """(provider name, start) pairs a caller could really be offered: the
    clinic's active providers and their free times from tomorrow on."""
    providers = selectors.providers_with_hours()
    rng.shuffle(providers)
    tomorrow = timezone.localdate() + timedelta(days=1)
    times = []
    for provider in providers[:SAMPLE_PROVIDERS]:
        result = selectors.find_free_times(provider=provider, day=tomorrow, limit=TIMES_PER_PROVIDER)
        times += [(provider.name, slot.start) for slot in result.slots]
    return times


class Command(BaseCommand):
    help = "Drive made-up calls through the live-call interface so the Live calls panel moves."

    def add_arguments(self, parser):
        parser.add_argument("--calls", type=int, default=3, help="Calls at the same time (default 3).")
        parser.add_argument("--interval", type=float, default=4.0,
                            help="Seconds between stage changes (default 4).")
        parser.add_argument("--duration", type=float, default=None,
                            help="Seconds a call lasts (default: one interval per stage).")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--once", action="store_true", help="One round of calls, then exit.")
        mode.add_argument("--forever", action="store_true", help="Keep calls coming until Ctrl+C (default).")
        parser.add_argument("--updates-per-second", type=float, default=0.0,
                            help="Also re-send each call's state this often (load for benchmarks).")
        parser.add_argument("--prefix", default="sim", help="Room names start with this (default 'sim').")
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for repeatable callers.")

    def handle(self, *, calls, interval, duration, once, forever, updates_per_second, prefix, seed, **options):
        if calls < 1 or calls > 500:
            raise CommandError("--calls must be between 1 and 500.")
        if interval <= 0:
            raise CommandError("--interval must be a positive number of seconds.")
        if duration is not None and duration < interval:
            raise CommandError("--duration must be at least one --interval.")
        if updates_per_second < 0 or updates_per_second > 50:
            raise CommandError("--updates-per-second must be between 0 and 50.")
        redis = redis_server.ensure_running()
        self.times = clinic_times(random.Random(seed))
        try:
            asyncio.run(self._run(calls=calls, interval=interval,
                                  duration=duration or interval * len(FLOW), once=once,
                                  rate=updates_per_second, prefix=prefix, rng=random.Random(seed)))
        except KeyboardInterrupt:
            pass  # Ctrl+C just as the run finished: its calls have already ended
        finally:
            if redis:
                redis.stop()

    async def _run(self, *, calls, interval, duration, once, rate, prefix, rng):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        note = "" if self.times else " No active provider has a free time: the calls will not get to choosing one."
        self.stdout.write(f"Simulating {calls} call(s) at a time; Ctrl+C to stop.{note}")
        self.serial = 0
        self.sent = 0  # call.updated events that went out; the benchmark compares what arrived
        run_id = f"{int(time.time()) % 100000:05d}"

        async def lane(index: int):
            # A lane holds one call at a time; a new one follows unless --once.
            await asyncio.sleep(index * min(interval, 2.0) / calls)  # stagger the starts
            while not stop.is_set():
                self.serial += 1
                await self._one_call(f"{prefix}-{run_id}-{self.serial}", self.serial, interval=interval,
                                     duration=duration, rate=rate, rng=rng, stop=stop)
                if once:
                    return

        lanes = [asyncio.create_task(lane(i)) for i in range(calls)]
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([waiter, asyncio.gather(*lanes)], return_when=asyncio.FIRST_COMPLETED)
        stop.set()  # after --once, or on Ctrl+C: lanes end their calls and return
        await asyncio.gather(*lanes, return_exceptions=True)
        waiter.cancel()
        self.stdout.write(f"Stopped; {self.serial} call(s) simulated, {self.sent} updates sent.")

    async def _one_call(self, room, n, *, interval, duration, rate, rng, stop):
        name, phone = made_up_caller(rng, n)
        call = await LiveCall.start(room, caller_phone=phone)
        self.stdout.write(f"call {room} started")
        started = time.monotonic()
        stage_every = duration / len(FLOW)
        beat_every = min(HEARTBEAT_SECONDS, interval)
        step, last_beat, last_send = 0, started, started
        tick = min(stage_every, 1 / rate if rate else stage_every, beat_every, 0.25)
        try:
            while not stop.is_set():
                elapsed = time.monotonic() - started
                if elapsed >= duration:
                    break
                want = min(int(elapsed // stage_every), len(FLOW) - 1)
                now = time.monotonic()
                if want > step:
                    step = want
                    await call.update(**self._changes(FLOW[step], name=name, rng=rng, times=self.times))
                    last_send = last_beat = now
                elif rate and now - last_send >= 1 / rate:
                    await call.update()  # same state, fresh updated_at: the benchmark's load
                    last_send = last_beat = now
                elif now - last_beat >= beat_every:
                    await call.heartbeat()
                    last_beat = now
                try:
                    await asyncio.wait_for(stop.wait(), tick)
                except asyncio.TimeoutError:
                    pass
        finally:
            await call.end()
            self.sent += call.sent
            self.stdout.write(f"call {room} ended")

    @staticmethod
    def _changes(stage, *, name, rng, times) -> dict:
        if stage == Stage.IDENTIFYING:
            return {"stage": stage, "caller_name": name}
        if stage == Stage.CHOOSING_SLOT and times:
            provider, start = rng.choice(times)
            return {"stage": stage, "provider": provider, "requested_slot": start}
        return {"stage": stage}
