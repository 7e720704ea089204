"""The YAML loader's shortcuts (memoized implicit tags, string and number scalars built
directly, mappings without merge keys taken as they are) give PyYAML's own values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from aligned_cli.errors import ProjectError
from aligned_cli.parse.project import load_project
from aligned_cli.parse.yaml_loader import load_yaml

ROOT = Path(__file__).resolve().parents[3]


class _Reference(yaml.SafeLoader):
    """PyYAML's pure-Python safe loader, with dates kept as text as aligned keeps them."""


_Reference.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: str(loader.construct_scalar(node))
)

DOCUMENTS = [
    "a: 1\nb: 1.5\nc: -2\nd: 0x1F\ne: 0o17\nf: 017\ng: 1_000\nh: 1:30\ni: .inf\nj: -.Inf\n",
    "a: yes\nb: No\nc: on\nd: 'true'\ne: ~\nf: null\ng:\nh: ''\ni: NULL\n",
    "a: 2024-01-01\nb: 2024-01-01T10:00:00Z\nc: '2024-01-01'\n",
    "a: !!str 12\nb: !!int '12'\nc: !!float '1'\nd: !!bool 'yes'\ne: !!null ''\n",
    'a: "x\\ty"\nb: |\n  line\n  two\nc: >\n  folded\n  text\nd: [1, "2", three, {k: v}]\n',
    "base: &b {x: 1, y: [a, b]}\nc:\n  <<: *b\n  y: 2\nd: {<<: [*b], z: .nan}\ne: *b\n",
    "features:\n  f1: {type: int32}\n  f2: {type: float}\n  d1: {expression: 'f1 > 0'}\n",
    "- 1\n- - 2\n  - x\n- {a: [], b: {}}\n",
    "",
]


def _comparable(value: Any) -> Any:
    # NaN is not equal to itself: compare its text.
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return (type(value).__name__, value)


@pytest.mark.parametrize("text", DOCUMENTS)
def test_values_are_pyyaml_values(text: str) -> None:
    expected = yaml.load(text, Loader=_Reference)  # a safe loader
    loaded = load_yaml(text, "f.yml").data
    assert _comparable(loaded) == _comparable({} if expected is None else expected)
    # Twice: the second time the implicit tags come from the memo.
    assert _comparable(load_yaml(text, "f.yml").data) == _comparable(loaded)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!python/name:os.system x\n", "f.yml:1:4: YAML tag 'tag:yaml.org,2002:python"),
        ("a: 1\nb: !!int 'x'\n", "f.yml:2:4: value 'x' is not a valid !!int"),
        ("b: !!bool maybe\n", "f.yml:1:4: value 'maybe' is not a valid !!bool"),
    ],
)
def test_a_bad_explicit_tag_is_a_located_error(text: str, message: str) -> None:
    with pytest.raises(ProjectError) as raised:
        load_yaml(text, "f.yml")
    assert str(raised.value).startswith(message)


def test_templates_made_by_escapes_are_still_rendered(tmp_path: Path) -> None:
    # A file whose text has no `{{` can still hold one after YAML's escapes.
    root = tmp_path / "p"
    (root / "features").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "data" / "x.csv").write_text("id\n1\n")
    (root / "aligned_project.yml").write_text("name: p\nvars:\n  who: rendered\n")
    (root / "features" / "f.yml").write_text(
        "sources:\n"
        "  - name: x\n"
        "    file: data/x.csv\n"
        "    description: \"\\x7b{ var('who') }} and {\\\n    { var('who') }}\"\n"
    )
    project = load_project(root)
    assert project.sources["x"].description == "rendered and rendered"
