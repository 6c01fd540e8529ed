"""W3: n items through asyncio.Queue(100), with P producers and C consumers."""

import asyncio
from time import perf_counter


async def bench(n: int, params: dict) -> dict:
    producers, consumers = int(params["producers"]), int(params["consumers"])
    per_producer, per_consumer = n // producers, n // consumers
    queue: asyncio.Queue[int] = asyncio.Queue(100)

    async def produce() -> None:
        for i in range(per_producer):
            await queue.put(i)

    async def consume() -> int:
        total = 0
        for _ in range(per_consumer):
            total += await queue.get()
        return total

    t0 = perf_counter()
    tasks = [asyncio.create_task(produce()) for _ in range(producers)]
    tasks += [asyncio.create_task(consume()) for _ in range(consumers)]
    for t in tasks:
        await t
    return {"ms": (perf_counter() - t0) * 1000}
