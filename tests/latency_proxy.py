"""A TCP proxy that delays what the server answers, for tests of slow (not dead) dependencies."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator


class LatencyProxy:
    """Forwards 127.0.0.1:<port> to a server, each chunk the server sends held for `delay_s` after it
    arrived (a round trip `delay_s` longer; chunks are not delayed behind one another). The delay
    can change while it runs; `hang` makes it hold every answer until `hang` is False again. It runs
    its own event loop in a thread, so the code under test meets it as a separate host."""

    def __init__(self, target_port: int, delay_s: float = 0.0) -> None:
        self.target_port = target_port
        self.delay_s = delay_s
        self._flowing = asyncio.Event()  # cleared while the proxy hangs
        self._flowing.set()
        self.connections = 0  # accepted so far
        self.open = 0  # open now
        self.peak = 0  # the most open at once
        self.sent = 0  # chunks the clients sent (a request, or a pipeline of them)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port: int = sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._accept, "127.0.0.1", self.port)
        )
        self._started.set()
        self._loop.run_forever()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.close()
            self.open -= 1
            return
        try:
            await asyncio.gather(
                self._pipe(client_reader, server_writer, delayed=False),
                self._pipe(server_reader, client_writer, delayed=True),
                return_exceptions=True,
            )
        finally:
            self.open -= 1

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delayed: bool) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def send() -> None:
            while True:
                arrived, data = await queue.get()
                if delayed:
                    await self._flowing.wait()  # a closed connection is held too
                if not data:
                    break
                wait = arrived + self.delay_s - time.monotonic() if delayed else 0
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            writer.close()

        sender = asyncio.ensure_future(send())
        try:
            while data := await reader.read(65536):
                self.sent += 0 if delayed else 1
                queue.put_nowait((time.monotonic(), data))
        except OSError:
            pass
        queue.put_nowait((time.monotonic(), b""))
        with contextlib.suppress(OSError):
            await sender

    @property
    def hang(self) -> bool:
        """Whether every answer is held until hang is set to False again."""
        return not self._flowing.is_set()

    @hang.setter
    def hang(self, value: bool) -> None:
        self._loop.call_soon_threadsafe(self._flowing.clear if value else self._flowing.set)

    def start(self) -> None:
        """Listen, and return once it accepts connections."""
        self._thread.start()
        self._started.wait(5)

    def stop(self) -> None:
        """Stop listening and drop every connection."""

        async def close() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@contextlib.contextmanager
def latency_proxy(target_port: int, delay_s: float = 0.0) -> Iterator[LatencyProxy]:
    """A running LatencyProxy in front of 127.0.0.1:target_port, stopped afterwards."""
    proxy = LatencyProxy(target_port, delay_s)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
