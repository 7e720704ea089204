"""Resolving --select/--exclude/--state into a set of node ids."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aligned_cli.compile.compiled import CompiledProject


def resolve_selection(
    compiled: CompiledProject,
    select: list[str] | None,
    exclude: list[str] | None,
    state: Path | None,
    *,
    indirect_tests: bool,
) -> set[str]:
    from aligned_cli.graph.selection import select_nodes

    checksums = _state_checksums(state) if state is not None else None
    warnings: list[str] = []
    selected = select_nodes(
        compiled.graph, select, exclude, state_checksums=checksums, warnings=warnings
    )
    if indirect_tests:
        selected = _with_tests(compiled, selected)
        if exclude:
            # An excluded node takes its tests with it, as a selected one brings them.
            excluded = select_nodes(compiled.graph, exclude, None, state_checksums=checksums)
            selected -= _with_tests(compiled, excluded)
    print_selection_warnings(warnings)
    return selected


def print_selection_warnings(warnings: list[str]) -> None:
    """On stderr, so `ls --output json` stays valid JSON (JSON logs stay JSON lines)."""
    from aligned_cli.cli.output import json_logs, line, log_event

    for message in dict.fromkeys(warnings):
        if json_logs():
            log_event("warn", message)
        else:
            line(f"warning: {message}", "yellow", stderr=True)


def _state_checksums(state: Path) -> dict[str, str]:
    from aligned_cli.artifacts.manifest import manifest_file, read_manifest

    manifest = read_manifest(manifest_file(state))
    return {uid: node.checksum for uid, node in manifest.nodes.items()}


def _with_tests(compiled: CompiledProject, nodes: set[str]) -> set[str]:
    """`nodes` and their tests (dbt's eager indirect selection, and a view's features')."""
    from aligned_cli.graph.selection import add_indirect_tests

    return add_indirect_tests(compiled.graph, nodes) | _view_tests(compiled, nodes)


def _view_tests(compiled: CompiledProject, selected: set[str]) -> set[str]:
    """A selected view brings the tests of all its features too (a user's 'test this view')."""
    from aligned_cli.graph.ids import test_id, view_id

    project = compiled.project.name
    views = {view_id(project, t.view) for t in compiled.tests} & selected
    return {test_id(project, t.name) for t in compiled.tests if view_id(project, t.view) in views}
