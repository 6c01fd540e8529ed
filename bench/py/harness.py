"""Runs one Python contender of one workload in this (fresh) process.

Usage: python bench/py/harness.py <script.py> <asyncio|uvloop> <n> <warmup_n> <params_json>

The script defines ``async def bench(n, params) -> dict``. The harness runs a smaller warm-up
first (as the JavaScript side does), then the measured run, each on a new event loop of the
chosen kind, and prints ``RESULT {json}``.
"""

import asyncio
import gc
import importlib.util
import json
import os
import sys


def main() -> None:
    script, loop_kind, n_arg, warm_arg, params_arg = sys.argv[1:6]
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    spec = importlib.util.spec_from_file_location("workload", os.path.join(here, script))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    params = json.loads(params_arg)
    if loop_kind == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    else:
        factory = asyncio.new_event_loop
    n, warm_n = int(n_arg), int(warm_arg)
    if warm_n > 0:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(module.bench(warm_n, {**params, "warmup": 1}))
    gc.collect()
    with asyncio.Runner(loop_factory=factory) as runner:
        result = runner.run(module.bench(n, params))
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
