"""Developer and CI sessions: `nox -s ci` is what .ci/run executes."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["ci"]

PYTHON = "3.11"
PACKAGE = "aligned_cli"


def _install(session: nox.Session) -> None:
    # A current pip resolves the s3fs/aiobotocore/botocore pins without backtracking.
    session.install("--upgrade", "pip")
    session.install("-e", ".[dev]")


def _lint(session: nox.Session) -> None:
    session.run("ruff", "check", PACKAGE, "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", PACKAGE, "tests", "benchmarks", "noxfile.py")
    # Layering: lower layers never import higher ones (see README, Architecture).
    session.run("python", "tools/check_layers.py")


def _typecheck(session: nox.Session) -> None:
    session.run("mypy")


def _tests(session: nox.Session) -> None:
    session.run("pytest", "-q", "-n", "2", "--dist", "loadfile", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint + format) and the import-layering check."""
    session.install("ruff")
    _lint(session)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    _install(session)
    _typecheck(session)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole test suite (needs PostgreSQL and Redis; see README)."""
    _install(session)
    _tests(session)


@nox.session(python=PYTHON)
def ci(session: nox.Session) -> None:
    """Everything CI checks, in one virtualenv: lint, types, tests, benchmark smoke run."""
    _install(session)
    _lint(session)
    _typecheck(session)
    _tests(session)
    session.run("python", "benchmarks/run_all.py", "--scale", "smoke")


@nox.session(python=PYTHON)
def spark(session: nox.Session) -> None:
    """The Apache Spark tests alone (local[2], one JVM): `nox -s spark`."""
    session.install("-e", ".[dev,spark]")
    session.run("pytest", "-q", "-m", "spark", "tests/spark", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks: aligned against hand-written engine baselines, as ratios."""
    _install(session)
    session.run("python", "benchmarks/run_all.py", *(session.posargs or ["--scale", "small"]))
