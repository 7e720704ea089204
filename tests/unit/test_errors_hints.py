"""Hints naming existing names: each name once, however many places it comes from."""

from __future__ import annotations

from aligned_cli.errors import did_you_mean


def test_known_names_are_listed_once() -> None:
    hint = did_you_mean("zzz", ["val", "id", "id", "ts", "val", "s"])
    assert hint == "known names: id, s, ts, val"


def test_close_names_are_suggested() -> None:
    assert did_you_mean("vall", ["val", "val", "id"]) == "did you mean 'val'?"
