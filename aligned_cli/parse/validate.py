"""Validate loaded YAML against a Spec and turn pydantic errors into located messages."""

from __future__ import annotations

import types
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from aligned_cli.errors import ProjectError, did_you_mean
from aligned_cli.parse.yaml_loader import LoadedYaml, Path_

SpecT = TypeVar("SpecT", bound=BaseModel)


def validate(spec: type[SpecT], loaded: LoadedYaml, what: str) -> SpecT:
    """`loaded.data` as a `spec`; the first problem raises ProjectError at its line."""
    if not isinstance(loaded.data, dict):
        raise ProjectError(
            f"{what} must be a mapping of keys to values",
            location=loaded.location(()),
        )
    try:
        return spec.model_validate(loaded.data)
    except ValidationError as error:
        raise _explain(spec, loaded, error, what) from None


def _explain(
    spec: type[BaseModel], loaded: LoadedYaml, error: ValidationError, what: str
) -> Exception:
    best: tuple[int, int, ProjectError] | None = None
    for problem in error.errors():
        path = _data_path(loaded.data, problem["loc"], problem["type"])
        candidate = _message(spec, loaded, problem, path, what)
        # Prefer the deepest path (the branch of a union that got furthest), then
        # unknown keys, which are the most common and most precise mistake.
        rank = (len(path), 1 if problem["type"] == "extra_forbidden" else 0)
        if best is None or rank > best[:2]:
            best = (*rank, candidate)
    assert best is not None
    return best[2]


def _data_path(data: Any, loc: tuple[int | str, ...], kind: str) -> Path_:
    """Drop pydantic's union-member tags (`float`, `CheckSpec`...) from `loc`, keeping
    only real data keys; a missing key is kept (reported at its parent)."""
    path: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        if _has(node, part):
            path.append(part)
            node = node[part]
        elif kind == "missing" and index == len(loc) - 1 and isinstance(node, dict):
            path.append(part)
    return tuple(path)


def _has(node: Any, part: int | str) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and part < len(node)


def _message(
    spec: type[BaseModel],
    loaded: LoadedYaml,
    problem: Any,
    path: Path_,
    what: str,
) -> ProjectError:
    kind = problem["type"]
    key = path[-1] if path else None
    where = " ".join(_describe(loaded.data, path[:-1])) or what
    if kind == "extra_forbidden":
        allowed = _allowed_keys(spec, path[:-1], loaded.data)
        return ProjectError(
            f"unknown key '{key}' in {where}",
            location=loaded.location(path),
            hint=did_you_mean(str(key), allowed),
        )
    if kind == "missing":
        return ProjectError(
            f"missing required key '{key}' in {where}",
            location=loaded.location(path[:-1]),
        )
    message = problem["msg"].removeprefix("Value error, ")
    if isinstance(key, int) and len(path) > 1:  # a list entry: name the list, count from 1
        key, where = f"entry {key + 1} of '{path[-2]}'", " ".join(_describe(loaded.data, path[:-2]))
        where = where or what
    else:
        key = f"'{key}'"
    return ProjectError(
        f"invalid value for {key} in {where}: {message}",
        location=loaded.location(path),
        hint=_value_hint(problem),
    )


def _value_hint(problem: Any) -> str | None:
    """What usually went wrong in the YAML when a value has the wrong type."""
    value = problem.get("input")
    if isinstance(value, bool) and problem["type"] != "bool_parsing":
        # YAML 1.1: `name: on` is True, `mapping: {X: no}` is False.
        return "YAML reads on/off/yes/no/true/false as booleans; quote it, e.g. 'on'"
    if isinstance(value, dict) and len(value) == 1 and None in value.values():
        # `- v:` or `[v: ]` is a one-key mapping, not the text `v:`.
        return "a trailing ':' makes YAML read a mapping; write the whole text, e.g. passenger:age"
    if problem["type"] == "bool_parsing":
        return "write true or false"
    return None


_CONTAINER_WORDS = {
    "sources": "source",
    "feature_views": "feature view",
    "models": "model",
    "features": "feature",
    "aggregations": "aggregation",
    "connections": "connection",
}


def _describe(data: Any, path: Path_) -> list[str]:
    """A readable name for a path: `feature 'age' of feature view 'passenger'`."""
    phrases: list[str] = []
    node = data
    container: str | int | None = None
    for part in path:
        node = node[part]
        word = _CONTAINER_WORDS.get(str(container)) if container is not None else None
        if isinstance(part, int) and isinstance(node, dict) and "name" in node and word:
            phrases.insert(0, f"{word} '{node['name']}'")
        elif isinstance(part, str) and word and container in ("features", "aggregations"):
            phrases.insert(0, f"{word} '{part}'")
        elif isinstance(part, str) and part not in _CONTAINER_WORDS:
            phrases.insert(0, f"'{part}'")
        container = part
    return [" of ".join(phrases)] if phrases else []


def _allowed_keys(spec: type[BaseModel], path: Path_, data: Any) -> list[str]:
    """Field names (and aliases) valid at `path`, found by walking the spec's types."""
    candidates: list[Any] = [spec]
    for part in path:
        nxt: list[Any] = []
        for annotation in candidates:
            nxt.extend(_step(annotation, part))
        candidates = nxt
    keys: list[str] = []
    for annotation in candidates:
        for model in _models_in(annotation):
            for name, field in model.model_fields.items():
                keys.append(field.alias or name)
    return keys


def _step(annotation: Any, part: str | int) -> list[Any]:
    results: list[Any] = []
    for member in _union_members(annotation):
        origin = typing.get_origin(member)
        args = typing.get_args(member)
        if isinstance(part, int) and origin is list and args:
            results.append(args[0])
        elif isinstance(part, str) and origin is dict and len(args) == 2:
            results.append(args[1])
        elif isinstance(part, str) and isinstance(member, type) and issubclass(member, BaseModel):
            for name, field in member.model_fields.items():
                if part in (name, field.alias):
                    results.append(field.annotation)
    return results


def _union_members(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return list(typing.get_args(annotation))
    return [annotation]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    return [
        m for m in _union_members(annotation) if isinstance(m, type) and issubclass(m, BaseModel)
    ]
