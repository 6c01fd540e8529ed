"""W6 cancellation: n tasks blocked in a one-hour sleep, each cancelled; time until all done."""

import asyncio
from time import perf_counter


async def bench(n: int, params: dict) -> dict:
    tasks = [asyncio.create_task(asyncio.sleep(3600)) for _ in range(n)]
    await asyncio.sleep(0.01)  # every task is now blocked in its sleep
    t0 = perf_counter()
    all_done = asyncio.get_running_loop().create_future()
    remaining = n

    def on_done(_task: asyncio.Task) -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0:
            all_done.set_result(None)

    for t in tasks:
        t.add_done_callback(on_done)
    for t in tasks:
        t.cancel()
    await all_done
    ms = (perf_counter() - t0) * 1000
    assert all(t.cancelled() for t in tasks)
    return {"ms": ms}
