"""Import a Python feature file and collect the sources, views and models it declares.

The file runs as a throw-away module (project root on sys.path while it runs) with
the DSL registry active; only objects created in this very file are collected, so a
helper module it imports contributes nothing twice. Any exception the file raises
becomes a ProjectError at the user's own file:line, never a traceback.
"""

from __future__ import annotations

import importlib
import sys
import traceback
import types
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from aligned_cli.core.ir import Connection, FeatureView, Model, Source
from aligned_cli.core.location import Location
from aligned_cli.dsl.callsite import CallSite
from aligned_cli.dsl.models import ModelDecl
from aligned_cli.dsl.registry import collecting
from aligned_cli.dsl.sources import SourceDecl
from aligned_cli.dsl.sql import writing_dialect
from aligned_cli.dsl.views import ViewDecl
from aligned_cli.errors import AlignedError, ProjectError

_HINT = "the error happened while aligned imported this Python feature file"


@dataclass
class PythonDeclarations:
    sources: list[Source] = field(default_factory=list)
    views: list[FeatureView] = field(default_factory=list)
    models: list[Model] = field(default_factory=list)
    # Implied by PostgreSQLConfig(env_var=X) without connection=: a postgres
    # connection named X (the project may declare its own X instead).
    connections: list[Connection] = field(default_factory=list)


def load_python_file(
    path: Path, project_root: Path, *, dialect: str = "duckdb"
) -> PythonDeclarations:
    """Run `path` and return what it declared, each with its file:line location.

    Its derived features (`transform_sql` text included) are SQL in `dialect`, the
    project's (SPEC §3.1)."""
    path = path.resolve()
    root = project_root.resolve()
    locator = _Locator(root)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProjectError(
            f"cannot read Python feature file: {error}", location=locator.file(str(path))
        ) from None
    with collecting() as declared, writing_dialect(dialect):
        _execute(text, path, root, locator)
        try:
            return _collect([d for d in declared if _site(d).filename == str(path)], locator)
        except AlignedError as error:
            raise locator.relocated(error) from None


def _site(obj: object) -> CallSite:
    site = getattr(obj, "site", None)
    return site if isinstance(site, CallSite) else CallSite("", 0, {})


def _execute(text: str, path: Path, root: Path, locator: _Locator) -> None:
    module = types.ModuleType(f"_aligned_features_{uuid.uuid4().hex}")
    module.__file__ = str(path)
    try:
        # dont_inherit: the user's file must not get this module's __future__ flags.
        code = compile(text, str(path), "exec", dont_inherit=True)
        with _temporary_import(module, root):
            exec(code, module.__dict__)
    except AlignedError as error:
        raise locator.relocated(error, error.__traceback__, path) from None
    except SyntaxError as error:
        file = error.filename or str(path)
        location = locator.file(file, error.lineno, error.offset)
        message = f"{type(error).__name__}: {error.msg}"
        raise ProjectError(message, location=location, hint=_HINT) from None
    except KeyboardInterrupt:
        raise  # Ctrl-C (or SIGTERM) while the file ran: the command stops as usual
    except BaseException as error:  # the user's code may raise anything
        message = f"{type(error).__name__}: {_text_of(error)}".rstrip(": ")
        location = locator.from_traceback(error.__traceback__, path)
        raise ProjectError(message, location=location, hint=_HINT) from None


def _text_of(error: BaseException) -> str:
    """`str(error)`, which a user's exception class may itself break."""
    try:
        return str(error)
    except Exception:
        return "(its message could not be shown)"


@contextmanager
def _temporary_import(module: types.ModuleType, root: Path) -> Iterator[None]:
    """The module and anything it imports from the project exist only while it runs,
    so a second load sees edited files; no bytecode is written into the project."""
    before = set(sys.modules)
    saved_path = list(sys.path)
    saved_bytecode = sys.dont_write_bytecode
    sys.modules[module.__name__] = module  # dataclasses and pickling look it up
    sys.path.insert(0, str(root))
    sys.dont_write_bytecode = True
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.dont_write_bytecode = saved_bytecode
        sys.path[:] = saved_path
        for name in set(sys.modules) - before:
            if name == module.__name__ or _is_project_module(sys.modules[name], root):
                del sys.modules[name]


def _is_project_module(module: types.ModuleType, root: Path) -> bool:
    file = getattr(module, "__file__", None)
    if not file:  # namespace packages: judge by their search path
        paths = list(getattr(module, "__path__", []) or [])
        file = paths[0] if paths else None
    if not file or "site-packages" in file or file.startswith(sys.base_prefix):
        return False
    return Path(file).resolve().is_relative_to(root)


@contextmanager
def _declaration(decl: object, locator: _Locator) -> Iterator[None]:
    """A DSL argument of the wrong type (`mapping={"x": 1}`) fails pydantic's check of
    the IR: a ProjectError at the declaration, in a sentence, not a ValidationError."""
    site = getattr(decl, "site", None)
    location = locator.site(site) if site is not None else None
    hint = "check the argument's type against the DSL's signature"
    try:
        yield
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ProjectError(
            f"invalid {error.title.lower()} declaration: {where}: {first['msg']}",
            location=location,
            hint=hint,
        ) from None
    except TypeError as error:  # e.g. a number where a path goes
        raise ProjectError(f"invalid declaration: {error}", location=location, hint=hint) from None


def _collect(declared: list[object], locator: _Locator) -> PythonDeclarations:
    found = PythonDeclarations()
    # Views and models first: they name the inline sources they read.
    for decl in declared:
        with _declaration(decl, locator):
            if isinstance(decl, ViewDecl):
                found.views.append(decl.to_ir(locator.site))
            elif isinstance(decl, ModelDecl):
                found.models.append(decl.to_ir(locator.site))
    for decl in declared:
        if not isinstance(decl, SourceDecl):
            continue
        if decl.used_as_output and not decl.used_as_input:
            continue  # only named as a view's or model's output
        name = decl.resolved_name()
        location = locator.site(decl.site)
        if name is None:
            raise ProjectError(
                "this source has no name",
                location=location,
                hint="assign it to a variable, pass name=..., or use it as a view's source",
            )
        with _declaration(decl, locator):
            found.sources.append(decl.to_source(name, location))
        connection = decl.implied_connection()
        if connection is not None and all(c.name != connection.name for c in found.connections):
            found.connections.append(connection)
    return found


class _Locator:
    """Turns absolute file names from code objects into project-relative Locations."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def file(self, filename: str, line: int | None = None, col: int | None = None) -> Location:
        resolved = Path(filename).resolve()
        shown = (
            resolved.relative_to(self.root).as_posix()
            if resolved.is_relative_to(self.root)
            else filename
        )
        return Location(file=shown, line=line, col=col)

    def site(self, site: CallSite) -> Location:
        return self.file(site.filename, site.line)

    def from_traceback(self, tb: types.TracebackType | None, path: Path) -> Location:
        """The deepest frame in the user's file (where their code went wrong)."""
        line: int | None = None
        for frame in traceback.extract_tb(tb):
            if frame.filename == str(path):
                line = frame.lineno
        return self.file(str(path), line)

    def relocated(
        self,
        error: AlignedError,
        tb: types.TracebackType | None = None,
        path: Path | None = None,
    ) -> ProjectError:
        """The DSL's own error, located in the user's file (DSL errors carry absolute
        file names, or none: then the traceback says where)."""
        if error.location is not None:
            location = self.file(error.location.file, error.location.line, error.location.col)
        elif path is not None:
            location = self.from_traceback(tb, path)
        else:
            location = None
        return ProjectError(error.message, location=location, hint=error.hint)
