"""W2 timers: n concurrent sleepers with seeded delays uniform in 0-999 ms."""

import asyncio
from time import perf_counter

from common import uniform_delays


async def bench(n: int, params: dict) -> dict:
    max_delay = 100 if params.get("warmup") else int(params["maxDelay"])
    delays = uniform_delays(n, max_delay, int(params["seed"]))
    longest = max(delays)
    t0 = perf_counter()
    tasks = [asyncio.create_task(asyncio.sleep(d / 1000)) for d in delays]
    for t in tasks:
        await t
    ms = (perf_counter() - t0) * 1000
    return {"ms": ms, "overheadMs": ms - longest}
