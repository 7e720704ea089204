"""Fail when a module imports a layer above its own (data flows one way).

core -> parse/dsl -> graph -> compile -> execute -> artifacts -> pipeline -> api/online/serve -> cli
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "aligned_cli"
# Each layer may import itself and anything with a lower rank.
RANK = {
    "errors": 1,
    "core": 1,
    "parse": 2,
    "dsl": 2,
    "graph": 3,
    "objectstore": 3,  # s3:// access: used by execute, api and cli; uses parse
    "compile": 4,
    "execute": 5,
    "artifacts": 5,
    "pipeline": 6,
    "compile_cache": 6,
    "api": 7,
    "online": 7,
    "docs": 7,
    "openlineage": 7,
    "serve": 8,
    "cli": 9,
}
# The one lazy, documented exception: the DSL's json_at().feature_store() opens the
# runtime API.
ALLOWED = {("dsl", "api")}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "aligned_cli" or len(parts) < 2:
        return None
    if parts[1] not in RANK and parts[1] != "__init__":
        raise SystemExit(f"{module}: package '{parts[1]}' has no layer; add it to RANK")
    return parts[1] if parts[1] in RANK else None


def main() -> int:
    problems: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT.parent)
        own = layer_of(".".join(relative.with_suffix("").parts))
        if own is None:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                other = layer_of(target)
                if other is None or other == own or (own, other) in ALLOWED:
                    continue
                if RANK[other] > RANK[own]:
                    problems.append(f"{relative}:{node.lineno}: {own} imports {other} ({target})")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
