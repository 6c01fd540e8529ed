"""W4: n tasks, each yielding once with sleep(0) while holding a Semaphore(100)."""

import asyncio
from time import perf_counter


async def bench(n: int, params: dict) -> dict:
    sem = asyncio.Semaphore(100)

    async def job() -> None:
        async with sem:
            await asyncio.sleep(0)

    t0 = perf_counter()
    tasks = [asyncio.create_task(job()) for _ in range(n)]
    for t in tasks:
        await t
    return {"ms": (perf_counter() - t0) * 1000}
