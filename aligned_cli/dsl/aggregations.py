"""Point-in-time window aggregations: `fare.aggregate().sum().over(days=30)` (SPEC §4b)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from aligned_cli.core.ir import AggregationFunction
from aligned_cli.core.types import parse_duration
from aligned_cli.dsl.callsite import CallSite, user_call_site
from aligned_cli.dsl.constraints import Constrained
from aligned_cli.errors import ProjectError

if TYPE_CHECKING:
    from aligned_cli.dsl.features import FeatureFactory


class AggregateBuilder:
    """Picks the function; `.over(...)` then gives the window."""

    def __init__(self, of: FeatureFactory) -> None:
        self._of = of

    def _function(self, function: AggregationFunction) -> WindowBuilder:
        return WindowBuilder(self._of, function)

    def count(self) -> WindowBuilder:
        return self._function("count")

    def count_distinct(self) -> WindowBuilder:
        return self._function("count_distinct")

    def sum(self) -> WindowBuilder:
        return self._function("sum")

    def mean(self) -> WindowBuilder:
        return self._function("mean")

    def min(self) -> WindowBuilder:
        return self._function("min")

    def max(self) -> WindowBuilder:
        return self._function("max")

    def stddev(self) -> WindowBuilder:
        return self._function("stddev")

    def last(self) -> WindowBuilder:
        return self._function("last")


class WindowBuilder:
    def __init__(self, of: FeatureFactory, function: AggregationFunction) -> None:
        self._of = of
        self._function = function
        self._site = user_call_site()

    def over(
        self,
        window: str | timedelta | None = None,
        *,
        weeks: int = 0,
        days: int = 0,
        hours: int = 0,
        minutes: int = 0,
        seconds: int = 0,
        min_rows: int | None = None,
    ) -> AggregationDecl:
        """The window: a duration (`"30d"`, a timedelta) or keyword lengths (`days=30`)."""
        parts = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
        if window is not None and parts:
            raise ProjectError("give the window either as a duration or as keywords, not both")
        length = window_seconds(window if window is not None else parts)
        if min_rows is not None and min_rows < 1:
            raise ProjectError(f"min_rows must be at least 1, got {min_rows}")
        return AggregationDecl(self._of, self._function, length, min_rows)


def window_seconds(window: str | timedelta | int) -> int:
    """A window or ttl in whole seconds; fixed lengths, never calendar days."""
    if isinstance(window, timedelta):
        seconds = window.total_seconds()
        if seconds != int(seconds):
            raise ProjectError(f"a duration must be whole seconds, got {window}")
        result = int(seconds)
    else:
        try:
            result = parse_duration(window)
        except ValueError as error:
            raise ProjectError(str(error)) from None
    if result <= 0:
        raise ProjectError(f"a duration must be positive, got {window!r}")
    return result


class AggregationDecl(Constrained):
    """An aggregated feature of a view; becomes an `Aggregation` in the IR."""

    def __init__(
        self,
        of: FeatureFactory,
        function: AggregationFunction,
        window: int,
        min_rows: int | None,
    ) -> None:
        super().__init__()
        self.of = of
        self.function: AggregationFunction = function
        self.window = window
        self.min_rows = min_rows
        self._site: CallSite = user_call_site()
        self._bound: tuple[str, str] | None = None  # (view, feature) once decorated
