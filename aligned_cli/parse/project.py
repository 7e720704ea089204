"""Load a project folder: aligned_project.yml plus every feature file -> Project IR."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aligned_cli.core.ir import Project
from aligned_cli.core.location import Location
from aligned_cli.errors import ProjectError
from aligned_cli.parse import schema, to_ir
from aligned_cli.parse.jinja import needs_rendering, render
from aligned_cli.parse.project_file import PROJECT_FILE, find_project_file
from aligned_cli.parse.resolve import Declarations, check_name, merge
from aligned_cli.parse.validate import validate
from aligned_cli.parse.yaml_loader import LoadedYaml, Path_, load_yaml

_YAML_SUFFIXES = (".yml", ".yaml")


def load_project(project_dir: Path | str, *, cli_vars: Mapping[str, Any] | None = None) -> Project:
    """Parse and check a whole project; any mistake raises ProjectError with its location."""
    root = Path(project_dir).resolve()
    if not root.is_dir():
        raise ProjectError(f"project directory '{project_dir}' does not exist")
    project_file = find_project_file(root)
    loaded = _read_yaml(project_file, root)
    # `vars:` values are rendered first (env_var, and var() of --vars), then the rest
    # of every file with them.
    _render_tree(loaded, cli_vars or {}, skip=lambda path: bool(path) and path[0] != "vars")
    raw_vars = loaded.data.get("vars") if isinstance(loaded.data, dict) else None
    variables: dict[str, Any] = dict(raw_vars) if isinstance(raw_vars, dict) else {}
    variables.update(cli_vars or {})
    _render_tree(loaded, variables, skip=lambda path: path[:1] == ("vars",))
    spec = validate(schema.ProjectSpec, loaded, PROJECT_FILE)
    check_name(spec.name, "project", loaded.location(("name",)))
    project = Project(
        name=spec.name,
        root=str(root),
        feature_paths=spec.feature_paths,
        target_path=spec.target_path,
        default_connection=spec.default_connection,
        connections=to_ir.connections(spec) or _default_connections(),
        online=spec.online,
        vars={**spec.vars, **(cli_vars or {})},
        dialect=spec.dialect,
        location=loaded.location(()),
    )
    if project.default_connection not in project.connections:
        from aligned_cli.errors import did_you_mean

        raise ProjectError(
            f"default-connection '{project.default_connection}' is not a declared connection",
            location=loaded.location(("default-connection",)),
            hint=did_you_mean(project.default_connection, project.connections),
        )
    declared = Declarations()
    for path in discover_feature_files(root, spec.feature_paths, loaded, spec.target_path):
        if path.suffix == ".py":
            _add_python(path, root, declared, project.dialect)
        else:
            _add_yaml(path, root, variables, declared)
    for connection in declared.connections:
        # PostgreSQLConfig(env_var=...) in Python files; the project's own names win.
        project.connections.setdefault(connection.name, connection)
    return merge(project, declared)


def _default_connections() -> dict[str, Any]:
    from aligned_cli.core.ir import Connection

    return {"local": Connection(name="local", type="duckdb", path="target/aligned.duckdb")}


def discover_feature_files(
    root: Path, feature_paths: list[str], loaded: LoadedYaml, target_path: str = "target"
) -> list[Path]:
    """Every *.yml, *.yaml and *.py under the feature paths, in a stable order; never
    the project file or what aligned writes (a feature path may be the root, `.`)."""
    files: list[Path] = []
    own = {root / PROJECT_FILE, (root / target_path).resolve()}
    for index, folder in enumerate(feature_paths):
        base = (root / folder).resolve()
        if base != root and root not in base.parents:
            # File names in the manifest and `path:` selectors are relative to the root.
            raise ProjectError(
                f"feature path '{folder}' is outside the project folder",
                location=loaded.location(("feature-paths", index)),
                hint="feature paths are folders inside the project, e.g. features",
            )
        if not base.exists():
            raise ProjectError(
                f"feature path '{folder}' does not exist",
                location=loaded.location(("feature-paths", index)),
                hint="create the folder or fix `feature-paths` in aligned_project.yml",
            )
        candidates = [base] if base.is_file() else sorted(base.rglob("*"))
        for path in candidates:
            parts = path.relative_to(root).parts
            if any(p.startswith((".", "__")) for p in parts):
                continue  # hidden folders, __pycache__, __init__.py
            if path in own or not own.isdisjoint(path.parents):
                continue
            if path.is_file() and (path.suffix in _YAML_SUFFIXES or path.suffix == ".py"):
                files.append(path)
    return files


def _read_yaml(path: Path, root: Path, *, keep_text: bool = False) -> LoadedYaml:
    relative = path.relative_to(root).as_posix()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ProjectError(
            f"file is not UTF-8 text ({error.reason})", location=Location(file=relative)
        ) from None
    loaded = load_yaml(text, relative)
    if keep_text:
        loaded.text = text
    return loaded


def _may_have_templates(text: str | None) -> bool:
    """Whether any value of a file with this text may need rendering: a template
    marker (`{{`, `{%`, `{#`) is in the text, or a backslash, the only way YAML can
    make one out of other characters (an escaped brace, an escaped line break
    between two braces). Most feature files have neither, and need no walk."""
    return text is None or needs_rendering(text) or "\\" in text


def _is_secret(path: Path_) -> bool:
    # Connection strings and object-store settings may carry passwords: their env_var()
    # calls are resolved only when aligned connects, so no artifact holds a secret.
    if len(path) == 3 and path[0] == "connections" and path[2] == "dsn":
        return True
    return path == ("online", "redis", "url") or path[:1] == ("object_stores",)


def _render_tree(loaded: LoadedYaml, variables: Mapping[str, Any], skip: Any) -> None:
    """Render every string value with Jinja (env_var, var), in place."""
    loaded.data = _render_node(loaded.data, (), loaded, variables, skip)


def _render_node(
    node: Any, path: Path_, loaded: LoadedYaml, variables: Mapping[str, Any], skip: Any
) -> Any:
    # A function of its own, not a closure calling itself: that would be a reference
    # cycle keeping each file's values and marks alive until the collector runs.
    if skip(path):
        return node
    if isinstance(node, dict):
        rendered: dict[Any, Any] = {}
        renamed: dict[Any, str] = {}
        for key, value in node.items():
            if isinstance(key, str) and needs_rendering(key):
                new = _render_key(key, node, rendered, (*path, key), loaded, variables)
                renamed[key] = new
                key = new
            rendered[key] = _render_node(value, (*path, key), loaded, variables, skip)
        _move_marks(loaded, path, renamed)
        return rendered
    if isinstance(node, list):
        return [_render_node(v, (*path, i), loaded, variables, skip) for i, v in enumerate(node)]
    if isinstance(node, str) and needs_rendering(node):
        location = loaded.location(path)
        return render(node, location=location, variables=variables, defer_env=_is_secret(path))
    return node


def _render_key(
    key: str,
    node: Mapping[Any, Any],
    rendered: Mapping[Any, Any],
    path: Path_,
    loaded: LoadedYaml,
    variables: Mapping[str, Any],
) -> str:
    """A mapping key rendered like any string (e.g. a `mapping:` column named by a var)."""
    location = loaded.location(path)
    new = render(key, location=location, variables=variables)
    if new != key and (new in node or new in rendered):
        raise ProjectError(
            f"key '{key}' renders to '{new}', which the same mapping already has",
            location=location,
        )
    return new


def _move_marks(loaded: LoadedYaml, path: Path_, renamed: Mapping[Any, str]) -> None:
    """The marks under each renamed key of the mapping at `path`, under its new name:
    one pass over the file's marks per mapping that has rendered keys."""
    moves = {old: new for old, new in renamed.items() if old != new}
    if not moves:
        return
    size = len(path)
    for old_path in list(loaded.marks):
        if len(old_path) > size and old_path[:size] == path and old_path[size] in moves:
            new_path = (*path, moves[old_path[size]], *old_path[size + 1 :])
            loaded.marks[new_path] = loaded.marks.pop(old_path)


def _is_test_sql(path: Path_) -> bool:
    """Values of a custom test rendered later, or never: its `sql` once `{{ this }}` is
    known (at compile), and keys the test does not have, which validation reports
    (with the closest key) rather than a template error about `this`."""
    if len(path) != 5 or path[0] != "feature_views" or path[2] != "tests":
        return False
    return path[4] == "sql" or path[4] not in schema.CustomTestSpec.model_fields


def _add_yaml(path: Path, root: Path, variables: Mapping[str, Any], declared: Declarations) -> None:
    loaded = _read_yaml(path, root, keep_text=True)
    if _may_have_templates(loaded.text):
        _render_tree(loaded, variables, skip=_is_test_sql)
    spec = validate(schema.FeaturesFileSpec, loaded, loaded.file)
    for i, source in enumerate(spec.sources):
        declared.sources.append(to_ir.source(source, loaded, ("sources", i)))
    for i, view in enumerate(spec.feature_views):
        declared.views.append(to_ir.view(view, loaded, ("feature_views", i)))
    for i, model in enumerate(spec.models):
        declared.models.append(to_ir.model(model, loaded, ("models", i)))


def _add_python(path: Path, root: Path, declared: Declarations, dialect: str) -> None:
    from aligned_cli.parse.python_files import load_python_file

    found = load_python_file(path, root, dialect=dialect)
    declared.sources.extend(found.sources)
    declared.views.extend(found.views)
    declared.models.extend(found.models)
    declared.connections.extend(found.connections)
