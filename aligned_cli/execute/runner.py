"""The DAG runner behind `aligned run` and `aligned test`.

Walks the selected nodes in dependency order on one adapter: a view runs its
error-severity tests on its new rows before they replace the old ones (build -> test
-> swap), then writes its `materialized_source`; a model writes its dataset; a test
reports pass/warn/fail/error. A failed node skips its descendants. Results are
collected for run_results.json even when the run is interrupted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aligned_cli.artifacts.run_results import NodeResult, TimingInfo
from aligned_cli.core.ir import Model, Output
from aligned_cli.errors import AlignedError

if TYPE_CHECKING:
    from sqlglot import exp

    from aligned_cli.compile.compiled import CompiledProject
    from aligned_cli.execute.adapters.base import Adapter

EXECUTABLE = ("view", "model", "test")
Reporter = Callable[[NodeResult], None]
StartReporter = Callable[[str, str, str], None]  # unique_id, kind, name
Warner = Callable[[str], None]


@dataclass
class RunState:
    results: dict[str, NodeResult] = field(default_factory=dict)
    interrupted: bool = False
    # The nodes this run executes; a view's blocking tests are only those selected,
    # so `--exclude test:x` keeps x from running (and from blocking) with its view.
    planned: set[str] = field(default_factory=set)
    store_failures: bool = False  # `aligned test --store-failures`
    warn: Warner | None = None  # advice for the user (e.g. a missing index)
    warned: set[str] = field(default_factory=set)  # what was advised: once per run

    @property
    def ordered(self) -> list[NodeResult]:
        return list(self.results.values())


def execution_order(compiled: CompiledProject, selected: set[str]) -> list[str]:
    """Executable selected nodes, parents first, ties broken by id (deterministic)."""
    graph = compiled.graph
    return [uid for uid in graph.ordered(selected) if graph.kind(uid) in EXECUTABLE]


def run_nodes(
    compiled: CompiledProject,
    adapter: Adapter,
    nodes: list[str],
    *,
    fail_fast: bool = False,
    report: Reporter | None = None,
    state: RunState | None = None,
    on_start: StartReporter | None = None,
    store_failures: bool = False,
    on_warning: Warner | None = None,
) -> RunState:
    state = state or RunState()
    state.planned = set(nodes)
    state.store_failures = store_failures
    state.warn = on_warning
    nodes_data = compiled.graph.nodes
    blocked: dict[str, str] = {}  # node -> why it is skipped
    try:
        for uid in nodes:
            if uid in state.results:
                continue  # e.g. a test already run as a view's blocking check
            data = nodes_data[uid]
            if uid in blocked:
                result = _result(uid, data, "skipped", message=blocked[uid])
            else:
                if on_start:
                    on_start(uid, str(data["kind"]), str(data["name"]))
                result = _execute(compiled, adapter, uid, state, report)
            state.results[uid] = result
            if report:
                report(result)
            if result.status in ("error", "fail") and data["kind"] != "test":
                for child in _descendants(compiled, uid):
                    blocked.setdefault(
                        child,
                        f"skipped because {data['name']} {result.status}ed"
                        if result.status == "error"
                        else f"skipped because {data['name']} failed its tests",
                    )
            if fail_fast and result.status in ("error", "fail"):
                for rest in nodes:
                    if rest not in state.results:
                        blocked.setdefault(rest, "skipped: --fail-fast after a failure")
    except KeyboardInterrupt:
        state.interrupted = True
        skip_unfinished(compiled, state, nodes, "interrupted")
        raise
    return state


def _descendants(compiled: CompiledProject, uid: str) -> set[str]:
    import networkx as nx  # only when a node failed: a graph walk

    found: set[str] = nx.descendants(compiled.dag, uid)
    return found


def skip_unfinished(compiled: CompiledProject, state: RunState, nodes: list[str], why: str) -> None:
    """Give every node that did not finish a final `skipped` status."""
    for uid in nodes:
        if uid not in state.results:
            state.results[uid] = _result(uid, compiled.graph.nodes[uid], "skipped", message=why)


def fail_unfinished(compiled: CompiledProject, state: RunState, nodes: list[str], why: str) -> None:
    """Give every node that did not finish a final `error` status: `why` stopped it."""
    for uid in nodes:
        if uid not in state.results:
            state.results[uid] = _result(uid, compiled.graph.nodes[uid], "error", message=why)


def _execute(
    compiled: CompiledProject,
    adapter: Adapter,
    uid: str,
    state: RunState,
    report: Reporter | None,
) -> NodeResult:
    data = compiled.graph.nodes[uid]
    kind = data["kind"]
    started = datetime.now(UTC)
    clock = time.perf_counter()
    try:
        if kind == "view":
            status, rows, message, output = _run_view(compiled, adapter, uid, state, report)
            return _result(
                uid, data, status, started, clock, rows=rows, message=message, output=output
            )
        if kind == "model":
            return _run_model(compiled, adapter, uid, data, started, clock, state)
        return _test_result(
            compiled, adapter, uid, data, started, clock, store_failures=state.store_failures
        )
    except AlignedError as error:
        return _result(uid, data, "error", started, clock, message=error.message)
    except KeyboardInterrupt:
        raise
    except Exception as error:  # the engine failed this node; the run goes on
        return _result(
            uid, data, "error", started, clock, message=f"{type(error).__name__}: {error}"
        )


def _run_view(
    compiled: CompiledProject,
    adapter: Adapter,
    uid: str,
    state: RunState,
    report: Reporter | None,
) -> tuple[str, int | None, str | None, str | None]:
    """Build -> test -> swap: the view's blocking tests judge its new rows before they
    replace the old ones; without a materialized_source they judge the view's query."""
    view = compiled.graph.nodes[uid]["obj"]
    sql = compiled.sql[uid][adapter.dialect]
    if view.materialized_source is None:
        # Without a build step the tests would be the first to read the source: a
        # missing file or column would show up as a test error, not the view's.
        adapter.plan_query(sql)
        failing = _run_blocking_tests(compiled, adapter, uid, state, report, relation=None)
        if failing:
            return "fail", None, _blocked_message(failing), None
        return "success", None, "tests passed (nothing to materialize)", None
    import sqlglot
    from sqlglot import exp

    with adapter.stage_output(sql, view.materialized_source) as staged:
        relation = sqlglot.parse_one(staged.relation, into=exp.Table, read=_dialect(adapter))
        failing = _run_blocking_tests(compiled, adapter, uid, state, report, relation=relation)
        if failing:
            return "fail", None, _blocked_message(failing), None
        staged.commit()
    return "success", staged.rows, None, _describe(view.materialized_source)


def _blocked_message(failing: list[str]) -> str:
    return "blocking tests failed, old data kept: " + ", ".join(failing)


def _dialect(adapter: Adapter) -> str:
    from aligned_cli.compile.dialects import get_dialect

    return get_dialect(adapter.dialect).sqlglot_name


def _run_blocking_tests(
    compiled: CompiledProject,
    adapter: Adapter,
    uid: str,
    state: RunState,
    report: Reporter | None,
    relation: exp.Expr | None,
) -> list[str]:
    """Run the view's error-severity tests (on `relation` when given); failing names."""
    failing: list[str] = []
    for test_uid in _blocking_tests(compiled, uid):
        if test_uid not in state.planned:
            continue
        test_data = compiled.graph.nodes[test_uid]
        started, clock = datetime.now(UTC), time.perf_counter()
        result = _test_result(compiled, adapter, test_uid, test_data, started, clock, relation)
        state.results[test_uid] = result
        if report:
            report(result)
        if result.status in ("fail", "error"):
            failing.append(str(test_data["name"]))
    return failing


def _blocking_tests(compiled: CompiledProject, view_uid: str) -> list[str]:
    """Error-severity tests on the view and its features."""
    graph = compiled.graph
    owners = [view_uid, *[c for c in graph.children[view_uid] if graph.kind(c) == "feature"]]
    tests = {
        t
        for owner in owners
        for t in graph.children[owner]
        if graph.kind(t) == "test"
        and graph.nodes[t]["obj"].view == graph.nodes[view_uid]["obj"].name
        and graph.nodes[t]["obj"].severity == "error"
    }
    return sorted(tests)


def _run_model(
    compiled: CompiledProject,
    adapter: Adapter,
    uid: str,
    data: dict[str, object],
    started: datetime,
    clock: float,
    state: RunState,
) -> NodeResult:
    model = data["obj"]
    assert isinstance(model, Model)
    if model.spine is None:
        return _result(
            uid,
            data,
            "skipped",
            started,
            clock,
            message="no spine: this model is served through the runtime API only",
        )
    output = model.output or default_output(compiled, model.name)
    from aligned_cli.execute.model_sql import run_model_sql

    with run_model_sql(compiled, adapter, uid, model, warn=state.warn, warned=state.warned) as sql:
        rows = _write_dataset(compiled, adapter, sql, output)
    return _result(uid, data, "success", started, clock, rows=rows, output=_describe(output))


def _write_dataset(compiled: CompiledProject, adapter: Adapter, sql: str, output: Output) -> int:
    """The model's rows into `output`. A table on another connection than the run's
    (`output: {table: t, connection: warehouse}`) receives them through Arrow."""
    if not output.table or output.connection in (None, adapter.connection_name):
        return adapter.write_output(sql, output)
    from aligned_cli.execute.adapters import open_adapter
    from aligned_cli.execute.adapters.sql_names import ident, temp_name

    rows = adapter.fetch_arrow(sql)
    connection = compiled.project.connections[output.connection]
    with open_adapter(connection, Path(compiled.project.root)) as destination:
        name = temp_name()
        destination.register_arrow(name, rows)
        try:
            query = f"SELECT * FROM {ident(name, destination.dialect)}"
            return destination.write_output(query, output)
        finally:
            destination.unregister(name)


def default_output(compiled: CompiledProject, model_name: str) -> Output:
    return Output(file=f"{compiled.project.target_path}/datasets/{model_name}.parquet")


def _test_result(
    compiled: CompiledProject,
    adapter: Adapter,
    uid: str,
    data: dict[str, object],
    started: datetime,
    clock: float,
    relation: exp.Expr | None = None,
    *,
    store_failures: bool = False,
) -> NodeResult:
    from aligned_cli.core.tests import DataTest
    from aligned_cli.execute.quality import run_test

    test = data["obj"]
    assert isinstance(test, DataTest)
    checks = compiled.test_checks.get(uid, {}).get(adapter.dialect)
    outcome = run_test(
        adapter, compiled.project, test, relation, store_failures=store_failures, checks=checks
    )
    message = outcome.message
    if outcome.status == "error" and message and test.location is not None:
        message = f"{test.location}: {message}"  # where the test that could not run is declared
    return _result(
        uid,
        data,
        outcome.status,
        started,
        clock,
        message=message,
        failures=outcome.failures,
        sample=outcome.sample,
        output=outcome.stored,
    )


def _describe(output: Output) -> str:
    if output.file:
        return output.file
    table = f"{output.schema_name}.{output.table}" if output.schema_name else str(output.table)
    return f"{table} on {output.connection}" if output.connection else table


def _result(
    uid: str,
    data: dict[str, object] | object,
    status: str,
    started: datetime | None = None,
    clock: float | None = None,
    *,
    rows: int | None = None,
    message: str | None = None,
    failures: int | None = None,
    sample: list[dict[str, object]] | None = None,
    output: str | None = None,
) -> NodeResult:
    assert isinstance(data, dict)
    now = datetime.now(UTC)
    elapsed = time.perf_counter() - clock if clock is not None else 0.0
    timing = [TimingInfo(name="execute", started_at=started, completed_at=now)] if started else []
    return NodeResult(
        unique_id=uid,
        kind=str(data["kind"]),
        name=str(data["name"]),
        status=status,
        timing=timing,
        execution_time=round(elapsed, 6),
        rows_affected=rows,
        message=message,
        failures=failures,
        sample=sample or [],
        output=output,
    )
