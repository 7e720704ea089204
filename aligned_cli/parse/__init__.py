"""Read a project folder (YAML, Jinja, Python DSL files) into one Project IR."""

from aligned_cli.parse.project import load_project

__all__ = ["load_project"]
