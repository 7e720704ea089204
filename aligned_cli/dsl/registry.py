"""Collects the DSL objects a Python feature file declares while it is imported."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# Only set while aligned imports a feature file; importing DSL code anywhere else
# (a notebook, a test) registers nothing.
_DECLARED: ContextVar[list[object] | None] = ContextVar("aligned_dsl_declared", default=None)


def register(obj: object) -> None:
    declared = _DECLARED.get()
    if declared is not None:
        declared.append(obj)


@contextmanager
def collecting() -> Iterator[list[object]]:
    """Everything registered inside the block, in declaration order."""
    declared: list[object] = []
    token = _DECLARED.set(declared)
    try:
        yield declared
    finally:
        _DECLARED.reset(token)
