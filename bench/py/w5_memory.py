"""W5 memory: bytes per task blocked on one Future, measured with tracemalloc."""

import asyncio
import gc
import tracemalloc


async def bench(n: int, params: dict) -> dict:
    fut = asyncio.get_running_loop().create_future()

    async def wait() -> None:
        await fut

    tasks: list = [None] * n
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(n):
        tasks[i] = asyncio.create_task(wait())
    # Let every task start and block on the Future.
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    fut.set_result(None)
    for t in tasks:
        await t
    return {"bytesPerTask": (after - before) / n}
