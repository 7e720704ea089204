"""Blocking work from sync and async callers alike.

The engines' drivers block, so the async API runs them in a worker thread
(`asyncio.to_thread`); the sync twins run them directly, or in a worker thread
when the calling thread already runs an event loop (Jupyter), where blocking
calls on the loop's own thread would otherwise be refused by `asyncio.run`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def run_blocking(work: Callable[[], T]) -> T:
    """`work()` now, in this thread unless it runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="aligned") as pool:
        return pool.submit(work).result()


async def run_async(work: Callable[[], T]) -> T:
    """`work()` in a worker thread, so the event loop stays responsive."""
    return await asyncio.to_thread(work)
