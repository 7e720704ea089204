"""Where in the user's file a DSL object was declared.

Every DSL object remembers its call site (file, line and the module namespace it
was created in) so the loader can give it a Location and name sources after the
variable they are assigned to.
"""

from __future__ import annotations

import ast
import linecache
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

_DSL_DIR = str(Path(__file__).resolve().parent)
_DSL_MODULE = "aligned_cli.dsl."


@dataclass(frozen=True, eq=False)
class CallSite:
    filename: str  # as the code object names it: absolute when loaded by aligned
    line: int
    namespace: dict[str, Any] = field(repr=False)  # the declaring module's globals

    def variable_name(self, obj: object) -> str | None:
        """The first public module-level variable bound to `obj`, if any."""
        for key, value in list(self.namespace.items()):
            if value is obj and not key.startswith("_"):
                return key
        return None


def _in_dsl(frame: FrameType) -> bool:
    # Generated code (dataclass __init__) has no file but runs in its module's globals.
    module = str(frame.f_globals.get("__name__", ""))
    return frame.f_code.co_filename.startswith(_DSL_DIR) or module.startswith(_DSL_MODULE)


def user_call_site() -> CallSite:
    """The innermost frame outside the DSL package: where the user wrote the call."""
    frame = sys._getframe(1)
    while frame.f_back is not None and _in_dsl(frame):
        frame = frame.f_back
    return CallSite(frame.f_code.co_filename, frame.f_lineno, frame.f_globals)


def class_line(site: CallSite, class_name: str) -> CallSite:
    """The `class` line of a decorated class, given the decorator's call site.

    Python reports the decorator line while a decorator runs; users expect errors to
    point at the `class` statement, so find it in the file's syntax tree.
    """
    source = "".join(linecache.getlines(site.filename))
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return site
    best: int | None = None
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef) or node.name != class_name:
            continue
        first = min([d.lineno for d in node.decorator_list] + [node.lineno])
        if first <= site.line <= node.lineno:
            best = node.lineno
    return CallSite(site.filename, best or site.line, site.namespace)
