"""Point-in-time window aggregations (SPEC §4b) attached to a numbered spine.

For each spine row with keys `k` and instant `t`, a view's aggregation is computed over
that entity's events with `t - window < event <= t`, after keeping one version per
event (same keys and event time: the greatest created, NULL created last). NULLs of
`of` are ignored as SQL aggregates do (but `last` is the latest event's value, NULL
or not); an empty window gives `count` and
`count_distinct` 0 and NULL otherwise, and every function is NULL below `min_rows`
non-NULL values of `of` (rows, for `count` without `of`; a count below it included).

SQL forms, chosen by measurement (DuckDB 2.0.1, 2 shared cores, `count` over 7 d
plus `mean` over 30 d or 90 d, medians of 3; timings on this busy box vary by up to 2x
between runs, so only the ratios matter):

| data (events / spine)                         | range join | running sums | RANGE frames |
|-----------------------------------------------|-----------:|-------------:|-------------:|
| 1M / 100k, ~1 event/day (7-30 rows in window) |     0.34 s |       0.44 s |       ~1.0 s |
| 1M / 100k, 1,000/entity, 90 d (~360 rows)     |     1.51 s | 1.85 s (CPU 1.7) | 1.5 s (CPU 1.0) |

- `count_distinct`, `min`, `max`, `stddev` (sample) and `last` (the latest event's
  value, NULL when it is NULL) always use a **range join** of the spine rows to the events on the
  keys and `t - widest window < event <= t`, grouped by spine row, with a FILTER per
  narrower window: exact, and one pass for all of a view's windows. (`stddev` from
  running sums of squares would cancel catastrophically for low-variance windows.)
- `count`, `sum`, `mean` join that range join (direct COUNT/SUM/AVG) when every one
  of their windows is short (`RANGE_MAX_WINDOW`, 30 d) or no wider than a window it
  scans anyway; see `split_forms` for the rule. Otherwise they take one pass over a
  stream of the deduplicated events and the spine rows, sorted per entity by time,
  whose cost does not grow with the history's length (the range join's does):
  - where the engine frames a window by a time offset (`Dialect.window_frame_offset`:
    DuckDB), **RANGE frames**: each spine row aggregates `RANGE BETWEEN window - 1 µs
    PRECEDING AND CURRENT ROW` (events at `t` are its peers, so included; one at
    `t - window` is not). The engine aggregates each frame directly, so sums are
    exact and NaN/±inf behave as in a direct SUM, with no extra columns: ~40% less
    CPU than running sums on the long-history benchmark, whose special-value
    counters cost most of the difference.
  - elsewhere, **running sums**: per-entity running counts and sums, with each spine
    row inserted into the stream at `t` and at `t - window` (events sort before a
    lookup at an equal instant, so `t` is included and `t - window` excluded); the
    window's value is the difference of two running values. Plain SQL on every engine
    (Spark frames only numbers by RANGE). Sums of integers are exact; sums of floats
    differ from a direct SUM by rounding only (~1e-16 times the entity's running
    total). NaN/±inf are counted apart, so that a non-finite value affects only the
    windows holding it, in two running counters (`up`: +inf or NaN, `down`: -inf or
    NaN). Two ASOF lookups per spine row into a table of running sums were slower
    (each ASOF join sorts the events again).

Postgres: with the view's rows a subquery (no index usable), a `LEFT JOIN LATERAL`
per spine row rescans the events for every row; the two set-based forms above hash on
the keys instead, so Postgres compiles the same shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from aligned_cli.compile.dialects.base import Dialect, column, ident, sql_type
from aligned_cli.core.ir import Aggregation
from aligned_cli.core.types import INTEGER_TYPES, DataType

# Functions served by running sums; the others by the range join.
RUNNING = frozenset({"count", "sum", "mean"})
FLOATS = frozenset({DataType.FLOAT, DataType.FLOAT32})

# Widest window of `count`, `sum`, `mean` still served by the range join (see
# `split_forms`): 30 days, ~30 rows at one event a day per entity, where the range
# join was 1.3-1.8x faster than the union window; at ~360 rows it was 2.3x slower.
RANGE_MAX_WINDOW = 30 * 86_400

# Internal column names (never output).
EVENT = "__aligned_event"
KIND = "__aligned_kind"
DUP = "__aligned_version"
ONE = "__aligned_one"


@dataclass(frozen=True)
class WindowAggregations:
    """One view's aggregations requested by a dataset.

    `view` holds the view's rows with the entity keys, the event time `event` (and
    `created`, if any) already in the dialect's point-in-time representation, and every
    `of` column; `spine` names the numbered spine CTE with `spine_row` (unique per row)
    and the instant `spine_time` (NULL: matches nothing).
    """

    view: exp.Expr
    prefix: str  # unique alias prefix for this view's CTEs and joins
    entities: tuple[str, ...]
    event: str
    created: str | None
    aggregations: tuple[Aggregation, ...]
    of_types: dict[str, DataType | None]  # type of each `of` column, where known
    spine: str
    spine_row: str
    spine_time: str


@dataclass
class AttachedAggregations:
    ctes: list[tuple[str, exp.Query]] = field(default_factory=list)
    joins: list[exp.Join] = field(default_factory=list)
    values: dict[str, exp.Expr] = field(default_factory=dict)  # aggregation -> value


def attach_aggregations(spec: WindowAggregations, dialect: Dialect) -> AttachedAggregations:
    """CTEs to add to the dataset query, LEFT JOINs on the spine row (alias `s`), and
    the expression of each aggregation's value."""
    attached = AttachedAggregations()
    values_of = {name: f"__aligned_of{i}" for i, name in enumerate(of_columns(spec.aggregations))}
    events = f"{spec.prefix}_events"
    attached.ctes.append((events, _events(spec, values_of)))
    running, ranged = split_forms(spec.aggregations)
    if running:
        summed = _FramedForm if dialect.frames_by_time else _RunningForm
        summed(spec, dialect, events, values_of, running, attached).build()
    if ranged:
        _RangeForm(spec, dialect, events, values_of, ranged, attached).build()
    return attached


def split_forms(
    aggregations: Sequence[Aggregation],
) -> tuple[list[Aggregation], list[Aggregation]]:
    """The aggregations served by running sums and those served by the range join.

    The cost rule (compile time knows the windows, not the data): a range join's work
    grows with the rows in its widest window, the union window's does not but it sorts
    every event with a copy of the spine per window. So `count`, `sum` and `mean` join
    the range join when each of their windows is at most `RANGE_MAX_WINDOW` (short
    windows hold few rows at the densities the measurements above assume) or no wider
    than a window the range join scans anyway for another function (then each costs
    one more aggregate on rows already joined). Otherwise they all stay in the one
    union window: its sort is paid once, and splitting them would add a second pass.
    """
    scanned = max((a.window for a in aggregations if a.function not in RUNNING), default=0)
    limit = max(RANGE_MAX_WINDOW, scanned)
    summed = [a for a in aggregations if a.function in RUNNING]
    if all(a.window <= limit for a in summed):
        return [], list(aggregations)
    return summed, [a for a in aggregations if a.function not in RUNNING]


def output_type(aggregation: Aggregation, of_type: DataType | None) -> DataType | None:
    """The dataset column type of an aggregation (its declared type wins)."""
    if aggregation.dtype is not None:
        return aggregation.dtype
    function = aggregation.function
    if function in ("count", "count_distinct"):
        return DataType.INT64
    if function in ("mean", "stddev"):
        return DataType.FLOAT
    if function == "sum":
        if of_type in INTEGER_TYPES:
            return DataType.INT64
        return DataType.FLOAT if of_type is not None else None
    return of_type  # min, max, last


# --- the deduplicated events ----------------------------------------------------------


def _events(spec: WindowAggregations, values_of: dict[str, str]) -> exp.Select:
    """One row per (keys, event time): the version with the greatest created."""
    keys = [column(k) for k in spec.entities]
    order = (
        [exp.Ordered(this=column(spec.created), desc=True, nulls_first=False)]
        if spec.created
        else []
    )
    version = exp.Window(
        this=exp.RowNumber(),
        partition_by=[*keys, column(spec.event)],
        order=exp.Order(expressions=order) if order else None,
    )
    present = [exp.Not(this=exp.Is(this=c.copy(), expression=exp.Null())) for c in keys]
    present.append(exp.Not(this=exp.Is(this=column(spec.event), expression=exp.Null())))
    versions = (
        exp.select(
            *(column(k) for k in spec.entities),
            exp.alias_(column(spec.event), ident(EVENT)),
            *(exp.alias_(column(name), ident(alias)) for name, alias in values_of.items()),
            exp.alias_(version, ident(DUP)),
            copy=False,
        )
        .from_(exp.Subquery(this=spec.view, alias=exp.TableAlias(this=ident("v"))), copy=False)
        .where(exp.and_(*present), copy=False)
    )
    return (
        exp.select(
            *(column(k) for k in spec.entities),
            column(EVENT),
            *(column(alias) for alias in values_of.values()),
            copy=False,
        )
        .from_(exp.Subquery(this=versions, alias=exp.TableAlias(this=ident("d"))), copy=False)
        .where(exp.EQ(this=column(DUP), expression=exp.Literal.number(1)), copy=False)
    )


class _Form:
    """What both SQL forms of a view's aggregations start from."""

    def __init__(
        self,
        spec: WindowAggregations,
        dialect: Dialect,
        events: str,
        values_of: dict[str, str],
        aggregations: list[Aggregation],
        attached: AttachedAggregations,
    ) -> None:
        self.spec = spec
        self.dialect = dialect
        self.events = events
        self.values_of = values_of
        self.aggregations = aggregations
        self.attached = attached
        self._setup()

    alias: str  # the form's join alias (and its CTEs' prefix), set by `_setup`

    def _setup(self) -> None:
        """What the form derives from its inputs."""


# --- count, sum, mean: differences of running values ---------------------------------


class _RunningForm(_Form):
    """Events and spine lookups in one stream per entity, sorted by (time, kind)."""

    def _setup(self) -> None:
        spec, aggregations = self.spec, self.aggregations
        self.alias = f"{spec.prefix}_running"
        self.windows = list(dict.fromkeys(a.window for a in aggregations))
        # Running columns: name -> (value on an event row, how to accumulate).
        self.running: dict[str, tuple[exp.Expr, Callable[[exp.Expr], exp.Expr]]] = {}
        # Which running columns each lookup reads (0: at t, i: at t - windows[i - 1]):
        # the pivot picks only those (its aggregates cost as much as the window pass).
        self.read: dict[int, list[str]] = {}
        for agg in aggregations:
            if agg.of is None:
                self.running.setdefault(ONE, (exp.Literal.number(1), _count))
                names = [ONE]
            else:
                self._running_of(agg.of, needs_sum=agg.function != "count")
                names = self._names_of(agg)
            for index in (0, self.windows.index(agg.window) + 1):
                bucket = self.read.setdefault(index, [])
                bucket += [n for n in names if n not in bucket]

    def _names_of(self, agg: Aggregation) -> list[str]:
        assert agg.of is not None
        base = self.values_of[agg.of]
        if agg.function == "count":
            return [f"{base}_n"]
        return [n for n in self.running if n.startswith(f"{base}_")]

    def _running_of(self, of: str, *, needs_sum: bool) -> None:
        value = column(self.values_of[of])
        self.running.setdefault(f"{self.values_of[of]}_n", (value, _count))
        if not needs_sum:
            return
        if self.spec.of_types.get(of) in FLOATS or self.spec.of_types.get(of) is None:
            # Running sums of the finite values; NaN and ±inf counted apart, so one
            # non-finite value does not poison every later window. Two counters say
            # all a window's sum needs: `up` counts +inf and NaN, `down` -inf and
            # NaN; both positive is NaN (a NaN, or +inf meeting -inf), one is ±inf.
            finite = exp.Case(
                ifs=[exp.If(this=_non_finite(value, self.dialect), true=exp.Null())],
                default=value.copy(),
            )
            self.running.setdefault(f"{self.values_of[of]}_s", (finite, _sum))
            for label, specials in _MARKERS.items():
                # NaN equals NaN on both engines, so IN finds it.
                hit = exp.In(
                    this=value.copy(), expressions=[make(self.dialect) for make in specials]
                )
                marker = exp.Case(ifs=[exp.If(this=hit, true=exp.Literal.number(1))])
                self.running.setdefault(f"{self.values_of[of]}_{label}", (marker, _count))
        else:
            self.running.setdefault(f"{self.values_of[of]}_s", (value.copy(), _sum))

    def build(self) -> None:
        spec = self.spec
        stream = f"{self.alias}_stream"
        self.attached.ctes.append((stream, self._stream()))
        keys = [column(k) for k in spec.entities]
        order = exp.Order(
            expressions=[
                self.dialect.ascending(column(EVENT)),
                self.dialect.ascending(column(KIND)),
            ]
        )
        frame = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING")
        running = [
            exp.alias_(
                exp.Window(
                    this=accumulate(column(name)),
                    partition_by=[k.copy() for k in keys],
                    order=order.copy(),
                    spec=frame.copy(),
                ),
                ident(name),
                copy=False,
            )
            for name, (_, accumulate) in self.running.items()
        ]
        totals = exp.select(column(KIND), column(spec.spine_row), *running, copy=False).from_(
            exp.Table(this=ident(stream)), copy=False
        )
        # One row per spine row: the running values at t (kind 0) and at t - window
        # (kind 1 + the window's index).
        picked: list[exp.Expr] = [column(spec.spine_row)]
        for kind in range(len(self.windows) + 1):
            for name in self.read.get(kind, []):
                at = exp.Filter(
                    this=exp.Max(this=column(name)),
                    expression=exp.Where(
                        this=exp.EQ(this=column(KIND), expression=exp.Literal.number(kind + 1))
                    ),
                )
                picked.append(exp.alias_(at, ident(f"{name}_{kind}"), copy=False))
        lookups = (
            exp.select(*picked, copy=False)
            .from_(exp.Subquery(this=totals, alias=exp.TableAlias(this=ident("r"))), copy=False)
            .where(exp.GT(this=column(KIND), expression=exp.Literal.number(0)), copy=False)
            .group_by(column(spec.spine_row), copy=False)
        )
        self.attached.joins.append(_join_on_row(lookups, self.alias, spec))
        for agg in self.aggregations:
            self.attached.values[agg.name] = self._value(agg)

    def _stream(self) -> exp.Query:
        """Events (kind 0), then every spine row at t (kind 1) and at t - window (2...)."""
        spec = self.spec
        names = list(self.running)
        branches: list[exp.Select] = [
            exp.select(
                *(column(k) for k in spec.entities),
                column(EVENT),
                exp.alias_(exp.Literal.number(0), ident(KIND)),
                exp.alias_(exp.Cast(this=exp.Null(), to=sql_type("BIGINT")), ident(spec.spine_row)),
                *(exp.alias_(self.running[n][0].copy(), ident(n)) for n in names),
                copy=False,
            ).from_(exp.Table(this=ident(self.events)), copy=False)
        ]
        spine_t = column(spec.spine_time)
        present = [
            exp.Not(this=exp.Is(this=column(k), expression=exp.Null())) for k in spec.entities
        ]
        present.append(exp.Not(this=exp.Is(this=spine_t.copy(), expression=exp.Null())))
        instants: list[exp.Expr] = [spine_t]
        instants += [
            exp.Sub(this=spine_t.copy(), expression=self.dialect.seconds(w)) for w in self.windows
        ]
        for kind, instant in enumerate(instants, start=1):
            branches.append(
                exp.select(
                    *(column(k) for k in spec.entities),
                    exp.alias_(instant, ident(EVENT)),
                    exp.alias_(exp.Literal.number(kind), ident(KIND)),
                    column(spec.spine_row),
                    *(exp.alias_(exp.Null(), ident(n)) for n in names),
                    copy=False,
                )
                .from_(exp.Table(this=ident(spec.spine)), copy=False)
                .where(exp.and_(*(p.copy() for p in present)), copy=False)
            )
        union: exp.Query = branches[0]
        for branch in branches[1:]:
            union = exp.union(union, branch, distinct=False, copy=False)
        return union

    def _diff(self, name: str, window: int) -> exp.Expr:
        """The running value at t minus the one at t - window (0 where none)."""
        index = self.windows.index(window) + 1
        at_t = exp.Coalesce(
            this=column(f"{name}_0", self.alias), expressions=[exp.Literal.number(0)]
        )
        before = exp.Coalesce(
            this=column(f"{name}_{index}", self.alias), expressions=[exp.Literal.number(0)]
        )
        return exp.Paren(this=exp.Sub(this=at_t, expression=before))

    def _value(self, agg: Aggregation) -> exp.Expr:
        if agg.of is None:
            events = exp.Cast(this=self._diff(ONE, agg.window), to=sql_type("BIGINT"))
            return _at_least(events, agg.min_rows)
        base = self.values_of[agg.of]
        count = self._diff(f"{base}_n", agg.window)
        if agg.function == "count":
            return _at_least(exp.Cast(this=count, to=sql_type("BIGINT")), agg.min_rows)
        total = self._sum(agg.of, agg.window)
        dtype = output_type(agg, self.spec.of_types.get(agg.of))
        if agg.function == "mean":
            as_float = exp.Cast(this=total, to=sql_type("DOUBLE"))
            value: exp.Expr = exp.Div(this=as_float, expression=count.copy())
        else:
            value = total
        if dtype is not None:
            value = exp.Cast(this=value, to=self.dialect.data_type(dtype))
        return _guarded(value, count, agg.min_rows)

    def _sum(self, of: str, window: int) -> exp.Expr:
        base = self.values_of[of]
        finite = self._diff(f"{base}_s", window)
        if f"{base}_up" not in self.running:
            return finite
        up, down = (self._diff(f"{base}_{label}", window) for label in _MARKERS)
        zero = exp.Literal.number(0)
        return exp.Case(
            ifs=[
                exp.If(
                    this=exp.and_(
                        exp.GT(this=up, expression=zero.copy()),
                        exp.GT(this=down, expression=zero.copy()),
                    ),
                    true=_special("NaN", self.dialect),
                ),
                exp.If(
                    this=exp.GT(this=up.copy(), expression=zero.copy()),
                    true=_special("Infinity", self.dialect),
                ),
                exp.If(
                    this=exp.GT(this=down.copy(), expression=zero.copy()),
                    true=_special("-Infinity", self.dialect),
                ),
            ],
            default=finite,
        )


def _count(value: exp.Expr) -> exp.Expr:
    return exp.Count(this=value)


def _sum(value: exp.Expr) -> exp.Expr:
    return exp.Sum(this=value)


def _special(text: str, dialect: Dialect) -> exp.Expr:
    return exp.Cast(this=exp.Literal.string(text), to=dialect.data_type(DataType.FLOAT))


def _nan(dialect: Dialect) -> exp.Expr:
    return _special("NaN", dialect)


def _infinity(dialect: Dialect) -> exp.Expr:
    return _special("Infinity", dialect)


def _minus_infinity(dialect: Dialect) -> exp.Expr:
    return _special("-Infinity", dialect)


_MARKERS: dict[str, tuple[Callable[[Dialect], exp.Expr], ...]] = {
    "up": (_infinity, _nan),
    "down": (_minus_infinity, _nan),
}


def _non_finite(value: exp.Expr, dialect: Dialect) -> exp.Expr:
    # NaN equals NaN on both engines, so IN works for all three specials.
    specials = (_nan, _infinity, _minus_infinity)
    return exp.In(this=value.copy(), expressions=[make(dialect) for make in specials])


# --- count, sum, mean where windows can be framed by time: RANGE frames --------------


class _FramedForm(_Form):
    """Events and spine rows in one stream per entity, sorted by time; each spine row's
    windows are RANGE frames ending at its instant (events at `t` are its peers, so
    included) and starting one microsecond after `t - window`. The engine aggregates
    each frame directly (DuckDB: segment trees), so sums are exact and NaN/±inf need
    no counters: the differences of running values are never taken."""

    def _setup(self) -> None:
        self.alias = f"{self.spec.prefix}_framed"

    def build(self) -> None:
        spec = self.spec
        stream = f"{self.alias}_stream"
        self.attached.ctes.append((stream, self._stream()))
        keys = [column(k) for k in spec.entities]
        order = exp.Order(expressions=[self.dialect.ascending(column(EVENT))])

        def over(aggregate: exp.Expr, window: int) -> exp.Expr:
            frame = exp.WindowSpec(
                kind="RANGE",
                start=self.dialect.window_frame_offset(window),
                start_side="PRECEDING",
                end="CURRENT ROW",
            )
            return exp.Window(
                this=aggregate,
                partition_by=[k.copy() for k in keys],
                order=order.copy(),
                spec=frame,
            )

        selected: list[exp.Expr] = [column(spec.spine_row)]
        for index, agg in enumerate(self.aggregations):
            read = column(self.values_of[agg.of]) if agg.of else column(ONE)
            selected.append(
                exp.alias_(
                    over(_direct(agg.function, read), agg.window),
                    ident(f"__aligned_a{index}"),
                    copy=False,
                )
            )
            if agg.function != "count":
                selected.append(
                    exp.alias_(
                        over(exp.Count(this=read.copy()), agg.window),
                        ident(f"__aligned_n{index}"),
                        copy=False,
                    )
                )
        framed = exp.select(*selected, copy=False).from_(exp.Table(this=ident(stream)), copy=False)
        # Window values are computed after WHERE: keep the spine rows one level up.
        rows = (
            exp.select(exp.Star(), copy=False)
            .from_(exp.Subquery(this=framed, alias=exp.TableAlias(this=ident("w"))), copy=False)
            .where(
                exp.Not(this=exp.Is(this=column(spec.spine_row), expression=exp.Null())),
                copy=False,
            )
        )
        self.attached.joins.append(_join_on_row(rows, self.alias, spec))
        # A spine row without keys or time is not in the stream: a count of 0.
        _attach_values(self)

    def _stream(self) -> exp.Query:
        """The deduplicated events (ONE = 1, their values), then every spine row with
        keys and a time (ONE and values NULL)."""
        spec = self.spec
        ofs = [self.values_of[name] for name in of_columns(self.aggregations)]
        events = exp.select(
            *(column(k) for k in spec.entities),
            column(EVENT),
            exp.alias_(exp.Cast(this=exp.Null(), to=sql_type("BIGINT")), ident(spec.spine_row)),
            exp.alias_(exp.Literal.number(1), ident(ONE)),
            *(column(name) for name in ofs),
            copy=False,
        ).from_(exp.Table(this=ident(self.events)), copy=False)
        present: list[exp.Expr] = [
            exp.Not(this=exp.Is(this=column(k), expression=exp.Null())) for k in spec.entities
        ]
        present.append(exp.Not(this=exp.Is(this=column(spec.spine_time), expression=exp.Null())))
        lookups = (
            exp.select(
                *(column(k) for k in spec.entities),
                exp.alias_(column(spec.spine_time), ident(EVENT)),
                column(spec.spine_row),
                exp.alias_(exp.Null(), ident(ONE)),
                *(exp.alias_(exp.Null(), ident(name)) for name in ofs),
                copy=False,
            )
            .from_(exp.Table(this=ident(spec.spine)), copy=False)
            .where(exp.and_(*present), copy=False)
        )
        return exp.union(events, lookups, distinct=False, copy=False)


# --- count_distinct, min, max, stddev, last (and short windows): a range join --------

_COUNTS = frozenset({"count", "count_distinct"})


class _RangeForm(_Form):
    def _setup(self) -> None:
        self.alias = f"{self.spec.prefix}_range"
        self.widest = max(a.window for a in self.aggregations)

    def build(self) -> None:
        spec = self.spec
        s, e = "s", "e"
        spine_t = column(spec.spine_time, s)
        on: list[exp.Expr] = [
            exp.EQ(this=column(k, s), expression=column(k, e)) for k in spec.entities
        ]
        on.append(exp.GT(this=column(EVENT, e), expression=self._lower(self.widest)))
        on.append(exp.LTE(this=column(EVENT, e), expression=spine_t))
        selected: list[exp.Expr] = [column(spec.spine_row, s)]
        for index, agg in enumerate(self.aggregations):
            # `count` without `of` counts the (deduplicated) events themselves.
            read = column(self.values_of[agg.of], e) if agg.of else exp.Star()
            selected.append(
                exp.alias_(self._aggregate(agg, read), ident(f"__aligned_a{index}"), copy=False)
            )
            if agg.function not in _COUNTS or (agg.function == "count_distinct" and agg.min_rows):
                # The guard's row count (a count guards itself against `min_rows`).
                selected.append(
                    exp.alias_(
                        self._in_window(exp.Count(this=read.copy()), agg.window),
                        ident(f"__aligned_n{index}"),
                        copy=False,
                    )
                )
        grouped = (
            exp.select(*selected, copy=False)
            .from_(
                exp.Table(this=ident(spec.spine), alias=exp.TableAlias(this=ident(s))), copy=False
            )
            .join(
                exp.Table(this=ident(self.events), alias=exp.TableAlias(this=ident(e))),
                on=exp.and_(*on),
                copy=False,
            )
            .group_by(column(spec.spine_row, s), copy=False)
        )
        self.attached.joins.append(_join_on_row(grouped, self.alias, spec))
        # No joined row (an empty window) is a count of 0.
        _attach_values(self)

    def _lower(self, window: int) -> exp.Expr:
        return exp.Sub(
            this=column(self.spec.spine_time, "s"), expression=self.dialect.seconds(window)
        )

    def _in_window(self, aggregate: exp.Expr, window: int) -> exp.Expr:
        if window == self.widest:
            return aggregate
        inside = exp.GT(this=column(EVENT, "e"), expression=self._lower(window))
        return exp.Filter(this=aggregate, expression=exp.Where(this=inside))

    def _aggregate(self, agg: Aggregation, value: exp.Expr) -> exp.Expr:
        function = agg.function
        if function in RUNNING:
            return self._in_window(_direct(function, value), agg.window)
        if function == "count_distinct":
            return self._in_window(exp.Count(this=exp.Distinct(expressions=[value])), agg.window)
        if function == "min":
            return self._in_window(exp.Min(this=value), agg.window)
        if function == "max":
            return self._in_window(exp.Max(this=value), agg.window)
        if function == "stddev":
            return self._in_window(exp.StddevSamp(this=value), agg.window)
        return self._last(agg, value)

    def _last(self, agg: Aggregation, value: exp.Expr) -> exp.Expr:
        """The value of the window's latest event, NULL when that value is NULL (no
        fall-back to an older event, as for a view's row, SPEC §4): the latest
        non-NULL value, kept only when its event is the window's latest (event times
        are unique after deduplication). Engines' "latest" aggregates skip NULLs
        (`arg_max`, Spark's `collect_list`) or refuse them in arrays (BigQuery), so
        the NULL case is decided by comparing two MAX(event)s, plain on all."""
        event = column(EVENT, "e")
        not_null: exp.Expr = exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null()))
        if agg.window != self.widest:
            in_window = exp.GT(this=event.copy(), expression=self._lower(agg.window))
            not_null = exp.and_(not_null, in_window)
        if self.dialect.name == "duckdb":
            latest: exp.Expr = exp.Filter(
                this=exp.ArgMax(this=value, expression=event.copy()),
                expression=exp.Where(this=not_null.copy()),
            )
        else:
            ordered = exp.Order(this=value, expressions=[exp.Ordered(this=event.copy(), desc=True)])
            collected = exp.Filter(
                this=exp.ArrayAgg(this=ordered), expression=exp.Where(this=not_null.copy())
            )
            # sqlglot indexes from 0 and renders Postgres' 1-based subscript.
            latest = exp.Bracket(
                this=exp.Paren(this=collected), expressions=[exp.Literal.number(0)]
            )
        newest_valued = exp.Filter(
            this=exp.Max(this=event.copy()), expression=exp.Where(this=not_null)
        )
        newest = self._in_window(exp.Max(this=event), agg.window)
        return exp.Case(
            ifs=[exp.If(this=exp.EQ(this=newest_valued, expression=newest), true=latest)]
        )


# --- shared ----------------------------------------------------------------------------


def _direct(function: str, value: exp.Expr) -> exp.Expr:
    """COUNT / SUM / AVG of `value` over the rows at hand. A direct SUM: NaN and ±inf
    propagate as SQL's arithmetic says, the semantics running sums rebuild with their
    counters."""
    if function == "count":
        return exp.Count(this=value)
    if function == "sum":
        return exp.Sum(this=value)
    assert function == "mean", function
    return exp.Avg(this=exp.Cast(this=value, to=sql_type("DOUBLE")))


def _attach_values(form: _Form) -> None:
    """Each aggregation's value from the form's `__aligned_a<i>` column (its non-NULL
    input count in `__aligned_n<i>`), cast to its output type: a count is 0 where the
    form has no row, and each is NULL below `min_rows` (`_guarded`)."""
    alias = form.alias
    for index, agg in enumerate(form.aggregations):
        value: exp.Expr = column(f"__aligned_a{index}", alias)
        dtype = output_type(agg, form.spec.of_types.get(agg.of or ""))
        if dtype is not None:
            value = exp.Cast(this=value, to=form.dialect.data_type(dtype))
        if agg.function == "count":
            form.attached.values[agg.name] = _counted(value, agg.min_rows)
        elif agg.function == "count_distinct":
            distinct = _counted(value, None)
            if agg.min_rows:
                count = column(f"__aligned_n{index}", alias)
                distinct = _guarded(distinct, count, agg.min_rows)
            form.attached.values[agg.name] = distinct
        else:
            count = column(f"__aligned_n{index}", alias)
            form.attached.values[agg.name] = _guarded(value, count, agg.min_rows)


def _counted(count: exp.Expr, min_rows: int | None) -> exp.Expr:
    """A count that is NULL where the form has no row: 0 for an empty window, NULL
    below `min_rows` where one is set."""
    return _at_least(exp.Coalesce(this=count, expressions=[exp.Literal.number(0)]), min_rows)


def _at_least(count: exp.Expr, min_rows: int | None) -> exp.Expr:
    """`count`, or NULL while it is below `min_rows` (where one is set)."""
    return _guarded(count, count.copy(), min_rows) if min_rows else count


def _guarded(value: exp.Expr, count: exp.Expr, min_rows: int | None) -> exp.Expr:
    """NULL for an empty window (no non-NULL value) or one below `min_rows`."""
    need = max(min_rows or 1, 1)
    enough = exp.GTE(this=count.copy(), expression=exp.Literal.number(need))
    return exp.Case(ifs=[exp.If(this=enough, true=value)])


def _join_on_row(query: exp.Query, alias: str, spec: WindowAggregations) -> exp.Join:
    return exp.Join(
        this=exp.Subquery(this=query, alias=exp.TableAlias(this=ident(alias))),
        side="LEFT",
        on=exp.EQ(this=column(spec.spine_row, "s"), expression=column(spec.spine_row, alias)),
    )


def of_columns(aggregations: Sequence[Aggregation]) -> list[str]:
    """The columns a view's aggregations read, in order."""
    return list(dict.fromkeys(a.of for a in aggregations if a.of))
