"""The `drift` test: a numeric feature's mean and stddev against the previous run.

The previous run's statistics live in the target folder (`quality_history.json`), so
each `aligned test`/`aligned run` compares with the last one and then records its own.
The test's value is the largest relative change allowed (`drift: 0.2` = 20 %); its
failure count is how many of the two statistics moved further than that.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from aligned_cli.core.ir import Project
from aligned_cli.core.tests import DataTest

HISTORY_FILE = "quality_history.json"
STATISTICS = ("mean", "stddev")


def history_path(project: Project) -> Path:
    return Path(project.root) / project.target_path / HISTORY_FILE


def previous_statistics(project: Project, test: DataTest) -> dict[str, float | None] | None:
    try:
        data = json.loads(history_path(project).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    entry = data.get(test.name) if isinstance(data, dict) else None
    return entry if isinstance(entry, dict) else None


def record_statistics(project: Project, test: DataTest, current: dict[str, float | None]) -> None:
    from aligned_cli.artifacts.writer import write_json_atomic

    path = history_path(project)
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        data = {}
    data[test.name] = current
    write_json_atomic(path, data)


def drifted(
    test: DataTest, current: dict[str, float | None], previous: dict[str, float | None]
) -> list[dict[str, Any]]:
    """The statistics that moved more than the allowed relative change."""
    limit = float(test.value if test.value is not None else 0.1)
    moved: list[dict[str, Any]] = []
    for name in STATISTICS:
        before, now = previous.get(name), current.get(name)
        if before is None or now is None:
            continue
        change = _relative_change(float(before), float(now))
        if change > limit:
            moved.append({"statistic": name, "previous": before, "current": now, "change": change})
    return moved


def _relative_change(before: float, now: float) -> float:
    if before == now:
        return 0.0
    if before == 0.0:
        return math.inf
    return abs(now - before) / abs(before)
