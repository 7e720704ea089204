"""Argument rewriting that click cannot express (SPEC §5).

- click options take exactly one value, so `--select a b` would leave `b` as an
  unexpected extra argument. Before parsing, every bare token after `--select`,
  `-s` or `--exclude` is folded into a repeat of that option, so `--select a b`,
  `--select "a b"` and `--select a --select b` all reach the command as a list.
- The common flags may come before the command, as dbt takes them
  (`aligned --log-format json run`): they are moved after it.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup

# The commands taking these options have no positional arguments, so a bare token
# after one of them can only be another selector.
MULTI_VALUE_OPTIONS = frozenset({"--select", "-s", "--exclude"})


def fold_multi_value_options(args: list[str]) -> list[str]:
    """`[--select, a, b, --exclude, c, d]` -> `[--select, a, --select, b, --exclude, c, ...]`."""
    folded: list[str] = []
    current: str | None = None  # the option that bare tokens are folded into
    index = 0
    while index < len(args):
        token = args[index]
        index += 1
        if token == "--":  # everything after `--` is positional, untouched
            return folded + args[index - 1 :]
        if not token.startswith("-") or token == "-":
            folded.extend([current, token] if current else [token])
            continue
        name, has_value, _ = token.partition("=")
        current = name if name in MULTI_VALUE_OPTIONS else None
        folded.append(token)
        if current and not has_value and index < len(args):
            # The token right after a bare `--select` is its value, whatever it looks like.
            folded.append(args[index])
            index += 1
    return folded


# SPEC §5's common flags, each taking one value.
COMMON_OPTIONS = frozenset({"--project-dir", "--target-path", "--vars", "--log-format"})
# The root's own flags (no value), which may stand among them: `--debug`.
ROOT_FLAGS = frozenset({"--debug"})


def move_leading_common_options(args: list[str]) -> list[str]:
    """`[--log-format, json, run, ...]` -> `[run, --log-format, json, ...]`: common
    flags before the command go right after it (root flags stay before it). Anything
    else before the command (`--help`, `--version`, an unknown flag) stops the scan
    and stays where click reports on it."""
    kept: list[str] = []
    moved: list[str] = []
    index = 0
    while index < len(args):
        token = args[index]
        name, has_value, _ = token.partition("=")
        if token in ROOT_FLAGS:
            kept.append(token)
            index += 1
            continue
        if name not in COMMON_OPTIONS:
            break
        width = 1 if has_value else 2
        moved.extend(args[index : index + width])
        index += width
    if not moved or index >= len(args) or args[index].startswith("-"):
        return args
    return [*kept, args[index], *moved, *args[index + 1 :]]


class AlignedGroup(TyperGroup):
    """The root command group; rewrites argv for every way in (`aligned`, CliRunner)."""

    # `ctx` is typer's vendored click Context, which has no public name to import.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        args = move_leading_common_options(list(args))
        return super().parse_args(ctx, fold_multi_value_options(args))
