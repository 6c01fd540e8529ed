"""W7 streaming: n bytes written with write + drain, read with read(65536), over loopback."""

import asyncio
from time import perf_counter


async def bench(n: int, params: dict) -> dict:
    chunk_size = int(params["chunk"])
    received = asyncio.get_running_loop().create_future()

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        total = 0
        while True:
            data = await reader.read(65536)
            if not data:
                break
            total += len(data)
        received.set_result(total)
        writer.close()

    server = await asyncio.start_server(sink, "127.0.0.1", 0)
    _, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
    chunk = b"a" * chunk_size
    t0 = perf_counter()
    sent = 0
    while sent < n:
        piece = chunk if sent + chunk_size <= n else chunk[: n - sent]
        writer.write(piece)
        await writer.drain()
        sent += len(piece)
    writer.close()
    total = await received
    ms = (perf_counter() - t0) * 1000
    assert total == n, f"received {total} of {n}"
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
    return {"ms": ms}
