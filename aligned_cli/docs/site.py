"""Writing `target/docs/`: index.html (data embedded) and the vendored assets."""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from aligned_cli.docs.payload import docs_payload

if TYPE_CHECKING:
    from aligned_cli.artifacts.manifest import Manifest

ASSETS = ("app.js", "monitoring.js", "style.css")
DATA_PLACEHOLDER = "/*__ALIGNED_DATA__*/"
TITLE_PLACEHOLDER = "__ALIGNED_TITLE__"


def write_site(manifest: Manifest, target_dir: Path) -> Path:
    """Write the site under `target_dir/docs` and return the path of its index.html."""
    from aligned_cli.artifacts.writer import write_text_atomic

    out = target_dir / "docs"
    assets = resources.files("aligned_cli.docs").joinpath("assets")
    for name in ASSETS:
        write_text_atomic(out / name, assets.joinpath(name).read_text(encoding="utf-8"))
        _publishable(out / name)
    template = assets.joinpath("index.html").read_text(encoding="utf-8")
    data = embeddable_json(docs_payload(manifest, target_dir))
    page = template.replace(TITLE_PLACEHOLDER, html.escape(manifest.metadata.project_name))
    page = page.replace(DATA_PLACEHOLDER, data)
    index = out / "index.html"
    write_text_atomic(index, page)
    _publishable(index)
    return index


def _publishable(path: Path) -> None:
    # Atomic writes create 0600 temp files; a site is meant to be read by a web server.
    path.chmod(0o644)


def embeddable_json(value: object) -> str:
    """JSON that is safe inside <script>: `</script>` or `<!--` in a description or in
    SQL must not end the element early, so every `<` is escaped."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
