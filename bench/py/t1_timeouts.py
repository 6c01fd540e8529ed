"""T1: n sequential asyncio.timeout scopes around a body that finishes at once."""

import asyncio
from time import perf_counter


async def noop() -> None:
    pass


async def bench(n: int, params: dict) -> dict:
    t0 = perf_counter()
    for _ in range(n):
        async with asyncio.timeout(1):
            await noop()
    return {"ms": (perf_counter() - t0) * 1000}
