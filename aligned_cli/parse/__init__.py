"""Read a project folder (YAML, Jinja, Python DSL files) into one Project IR."""

from __future__ import annotations

from typing import Any

__all__ = ["load_project"]


def __getattr__(name: str) -> Any:
    # Lazy, so importing a small parse module does not load the whole loader.
    if name == "load_project":
        from aligned_cli.parse.project import load_project

        return load_project
    raise AttributeError(name)
