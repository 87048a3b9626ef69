"""An asyncio event loop in a thread of its own, for the synchronous browser tests.

Playwright's sync API drives Chromium from the test's thread; aiohttp servers (the
emulators) and clients (Home Assistant's REST and WebSocket API) need an event loop that
keeps running between two calls. ``BackgroundLoop.run(coro)`` runs a coroutine on that
loop and waits for its result; ``call(fn)`` runs a plain function there, for state that
the loop's tasks share (e.g. an emulator's face world).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
import concurrent.futures
import threading
from typing import Any

DEFAULT_TIMEOUT = 60.0


class BackgroundLoop:
    """An event loop running in a daemon thread until ``close()``."""

    def __init__(self) -> None:
        """Start the thread and its loop."""
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run, name="browser-tests-loop", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run[T](
        self, coro: Coroutine[Any, Any, T], timeout: float = DEFAULT_TIMEOUT
    ) -> T:
        """Run ``coro`` on the loop and return its result (TimeoutError after ``timeout``)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def call[T](self, function: Callable[[], T], timeout: float = DEFAULT_TIMEOUT) -> T:
        """Run ``function`` in the loop's thread and return its result."""

        async def _call() -> T:
            return function()

        return self.run(_call(), timeout)

    def close(self) -> None:
        """Stop the loop and its thread (tasks still pending are cancelled)."""
        if self.loop.is_closed():
            return

        async def _cancel_all() -> None:
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(_cancel_all(), 10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()
