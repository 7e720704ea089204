"""The docs page in headless Chromium: graph, search, focus, and a screenshot to look at."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[3] / "target" / "docs-screenshots"  # git-ignored
runner = CliRunner()


def build_docs(project: Path, *commands: str) -> Path:
    for command in (*commands, "docs"):
        result = runner.invoke(app, [command, "--project-dir", str(project)])
        assert result.exit_code == 0, result.output
    return project / "target" / "docs"


def open_page(browser: Any, url: str, timeout: float = 30) -> float:
    """Load the page and wait until app.js has rendered; returns the seconds it took."""
    from selenium.webdriver.support.ui import WebDriverWait

    started = time.perf_counter()
    browser.get(url)
    WebDriverWait(browser, timeout).until(
        lambda d: d.execute_script("return document.body.dataset.ready") == "true"
    )
    return time.perf_counter() - started


def css(browser: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    found: list[Any] = browser.find_elements(By.CSS_SELECTOR, selector)
    return found


def screenshot(browser: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    browser.save_screenshot(str(path))
    return path


def test_titanic_docs_render_search_and_focus(
    titanic_project: Path, browser: Any, serve_dir: Any
) -> None:
    site = build_docs(titanic_project, "run")
    open_page(browser, serve_dir(site) + "/index.html")
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    assert len(css(browser, "#nodes g.node")) == 3
    assert len(css(browser, "#edges path.edge")) == 3  # the spine source feeds the model too
    assert "last run" in css(browser, "#run-summary")[0].text

    search = css(browser, "#search")[0]
    search.send_keys("is_male")
    time.sleep(0.3)  # the search is debounced
    items = css(browser, "#catalog-list .item")
    assert [i.get_attribute("data-id") for i in items] == ["feature.titanic.passenger.is_male"]
    items[0].click()
    assert css(browser, "#details h2")[0].text == "passenger:is_male"
    # Focusing a feature expands its view and dims the features outside its lineage.
    rows = {r.get_attribute("data-id"): r for r in css(browser, "#overlay .feature-row")}
    assert len(rows) == 12
    dimmed = {uid for uid, r in rows.items() if "dimmed" in r.get_attribute("class")}
    assert "feature.titanic.passenger.age" in dimmed
    assert "feature.titanic.passenger.is_male" not in dimmed
    assert "feature.titanic.passenger.sex" not in dimmed  # is_male is computed from sex
    assert css(browser, "pre.sql .kw"), "the view's compiled SQL is highlighted"
    screenshot(browser, "titanic.png")


def test_500_view_project_stays_responsive(big_project: Path, browser: Any, serve_dir: Any) -> None:
    site = build_docs(big_project)
    seconds = open_page(browser, serve_dir(site) + "/index.html")
    assert seconds < 10, f"the page took {seconds:.1f}s to render"
    nodes = css(browser, "#nodes g.node")
    assert len(nodes) == 7 + 500 + 100  # sources, views, models; features wait for focus

    view = "view.compile_bench.view_42"
    started = time.perf_counter()
    css(browser, f'#nodes g.node[data-id="{view}"] rect.box')[0].click()
    assert time.perf_counter() - started < 3
    classes = browser.execute_script(
        "return [...document.querySelectorAll('#nodes g.node')]"
        ".map(n => [n.dataset.id, n.getAttribute('class')])"
    )
    dimmed = {uid for uid, cls in classes if "dimmed" in cls}
    assert view not in dimmed and "focused" in dict(classes)[view]
    assert len(dimmed) > 500  # a single view's lineage is a small part of the graph
    assert len(css(browser, "#overlay .feature-row")) == 13
    assert css(browser, "#details h2")[0].text == "view_42"

    search = css(browser, "#search")[0]
    search.send_keys("view_42:d1")
    time.sleep(0.3)
    items = css(browser, "#catalog-list .item")
    assert [i.get_attribute("data-id") for i in items] == ["feature.compile_bench.view_42.d1"]
    screenshot(browser, "compile-500v.png")
