"""W6-TG: n tasks in one TaskGroup blocked in a one-hour sleep; cancel the group's parent."""

import asyncio
from time import perf_counter


async def bench(n: int, params: dict) -> dict:
    async def parent_body() -> None:
        async with asyncio.TaskGroup() as tg:
            for _ in range(n):
                tg.create_task(asyncio.sleep(3600))

    parent = asyncio.create_task(parent_body())
    await asyncio.sleep(0.01)  # every child is now blocked in its sleep
    t0 = perf_counter()
    parent.cancel()
    try:
        await parent
    except asyncio.CancelledError:
        pass
    ms = (perf_counter() - t0) * 1000
    assert parent.cancelled()
    return {"ms": ms}
