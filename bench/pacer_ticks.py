"""What the shared pacer's wake-ups cost: N registered streams that send nothing, per slot count (not a test).

Every stream's source returns None, so the figure is the pacer's own work: the wake-ups (timer, loop
pass, the coroutine step) and the walk over the streams. Process CPU over wall time, per slot count,
alternating the slot counts in each round so other load on a shared machine hits them alike.

    .venv/bin/python bench/pacer_ticks.py [--streams 750] [--slots 20 5 1] [--seconds 3] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable

from waterline.telephony.pacer import Pacer, loop_sleep_until

WARM_UP = 0.3


def _idle(skipped: int) -> None:
    return None


def _discard(data: bytes, addr: tuple[str, int]) -> None:
    pass


async def _run(slots: int, streams: int, seconds: float) -> tuple[float, float]:
    pacer = Pacer(time.monotonic, loop_sleep_until(time.monotonic), _discard, slots=slots)
    for _ in range(streams):
        pacer.add(_idle, ("127.0.0.1", 9))
    task = asyncio.create_task(pacer.run())
    await asyncio.sleep(WARM_UP)
    cpu, wall, ticks = time.process_time(), time.monotonic(), pacer.stats.ticks
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    ticks = pacer.stats.ticks - ticks
    pacer.stop()
    await asyncio.wait_for(task, 2)
    return 100.0 * cpu / wall, ticks / wall


def main() -> int:
    """Print CPU % and wake-ups per second for each slot count, per round."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=750)
    parser.add_argument("--slots", type=int, nargs="+", default=[20, 5, 1])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:
        pass
    seconds = min(max(args.seconds, 0.5), 10.0)
    print(f"{args.streams} idle streams, {seconds:.1f} s per run")
    for round_ in range(min(args.rounds, 5)):
        for slots in args.slots:
            with asyncio.Runner(loop_factory=factory) as runner:
                cpu, rate = runner.run(_run(slots, args.streams, seconds))
            print(f"round {round_ + 1} slots {slots:3}: {cpu:5.1f} % CPU, {rate:6.0f} wake-ups/s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
