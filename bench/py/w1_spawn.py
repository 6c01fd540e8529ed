"""W1 spawn/join: n tasks, each yielding 3 times with sleep(0), awaited one by one."""

import asyncio
from time import perf_counter


async def child() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def bench(n: int, params: dict) -> dict:
    t0 = perf_counter()
    tasks = [asyncio.create_task(child()) for _ in range(n)]
    for t in tasks:
        await t
    return {"ms": (perf_counter() - t0) * 1000}
