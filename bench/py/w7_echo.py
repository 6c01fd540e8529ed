"""W7 echo: C connections doing n/C round trips of `size` bytes with asyncio streams."""

import asyncio
import math
from time import perf_counter


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


async def bench(n: int, params: dict) -> dict:
    connections, size = int(params["connections"]), int(params["size"])
    rounds = math.ceil(n / connections)
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    message = b"a" * size
    pairs = [await asyncio.open_connection("127.0.0.1", port) for _ in range(connections)]

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(rounds):
            writer.write(message)
            await reader.readexactly(size)

    t0 = perf_counter()
    tasks = [asyncio.create_task(client(r, w)) for r, w in pairs]
    for t in tasks:
        await t
    ms = (perf_counter() - t0) * 1000
    for _, writer in pairs:
        writer.close()
        await writer.wait_closed()
    server.close()
    await server.wait_closed()
    return {"ms": ms * n / (rounds * connections)}
