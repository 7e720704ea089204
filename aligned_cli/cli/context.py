"""Loading the project the way every command does, from the common options."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from aligned_cli.cli.options import parse_vars
from aligned_cli.cli.output import use_log_format

if TYPE_CHECKING:
    from aligned_cli.compile.compiled import CompiledProject


def compiled_project(
    project_dir: Path,
    *,
    vars_text: str | None,
    target_path: Path | None,
    log_format: str,
    dialects: Iterable[str] | None = None,
) -> CompiledProject:
    from aligned_cli.pipeline import DEFAULT_DIALECTS, load_and_compile

    use_log_format(log_format)
    if dialects:  # `--dialect POSTGRESQL` compiles for (and names its files) `postgres`
        from aligned_cli.compile.dialects import dialect_name

        dialects = list(dict.fromkeys(dialect_name(d) for d in dialects))
    return load_and_compile(
        project_dir,
        cli_vars=parse_vars(vars_text),
        dialects=list(dialects) if dialects else DEFAULT_DIALECTS,
        target_path=target_path,
    )


def selection_args(values: list[str] | None) -> list[str] | None:
    """`--select a b`, `--select "a b"` and `--select a --select b` mean the same.

    None (option not given) stays None; a blank value is kept so that the selector
    parser rejects it ("empty selector") instead of it meaning "everything".
    """
    if values is None:
        return None
    parts: list[str] = []
    for value in values:
        parts.extend(value.split() or [value])
    return parts
