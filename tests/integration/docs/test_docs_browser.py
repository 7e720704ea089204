"""The docs page in headless Chromium: graph, search, focus, and a screenshot to look at."""

from __future__ import annotations

import shutil
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


def build_monitored_docs(project: Path) -> Path:
    """`aligned run`, `aligned monitor` (exit 1: the planted accuracy alert is an error), docs."""
    assert runner.invoke(app, ["run", "--project-dir", str(project)]).exit_code == 0
    monitored = runner.invoke(app, ["monitor", "--project-dir", str(project)])
    assert monitored.exit_code == 1, monitored.output
    return build_docs(project)


ALERT_RED = "rgb(220, 38, 38)"
PLANTED_WINDOWS = ["2024-02-09T00:00:00Z", "2024-02-10T00:00:00Z"]


def test_monitoring_view_charts_drift_and_alerts(
    monitoring_project: Path, browser: Any, serve_dir: Any
) -> None:
    site = build_monitored_docs(monitoring_project)
    open_page(browser, serve_dir(site) + "/index.html")
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    # Reached from the model's details: the "Monitoring" link opens its section.
    css(browser, '#catalog-list .item[data-id="model.monitoring.churn"]')[0].click()
    css(browser, '#details a[data-monitoring="model.monitoring.churn"]')[0].click()
    assert css(browser, "#monitoring")[0].is_displayed()
    assert not css(browser, "main.layout")[0].is_displayed()
    assert css(browser, ".mon-body")[0].get_attribute("data-model") == "churn"
    assert browser.execute_script("return location.hash") == "#monitoring/model.monitoring.churn"

    # Accuracy: one line per model version, the 0.8 bound dashed, the planted drop red.
    accuracy = '.chart-card[data-metric="accuracy"]'
    paths = css(browser, f"{accuracy} path.series")
    assert sorted(p.get_attribute("data-version") for p in paths) == ["v1", "v2"]
    threshold = css(browser, f"{accuracy} line.threshold")
    assert len(threshold) == 1 and threshold[0].value_of_css_property("stroke-dasharray") != "none"
    points = css(browser, f"{accuracy} circle.point")
    assert len(points) == 10
    fills = {p.get_attribute("data-window"): p.value_of_css_property("fill") for p in points}
    assert [window for window, fill in fills.items() if fill == ALERT_RED] == PLANTED_WINDOWS
    assert [p.get_attribute("data-window") for p in points if "alert" in css_class(p)] == (
        PLANTED_WINDOWS
    )

    # PSI per input feature and window: only income on the planted days is above 0.2.
    cells = css(browser, "td.psi[data-psi]")
    assert len(cells) == 10 * 4  # income, tenure, segment and the prediction, per window
    high = [c for c in cells if "psi-high" in css_class(c)]
    assert {c.get_attribute("data-feature") for c in high} == {"customer_request:income"}
    assert len(high) == 2 and all(float(c.get_attribute("data-psi")) > 0.2 for c in high)
    assert all(float(c.get_attribute("data-psi")) <= 0.2 for c in cells if c not in high)
    assert {c.value_of_css_property("background-color") for c in high} == {"rgba(239, 68, 68, 1)"}
    assert "selected" in css_class(high[0])  # the worst cell's bins are shown
    assert len(css(browser, ".psi-bins rect.bar")) == 2 * 10  # training and serving per decile

    alerts = css(browser, ".mon-alerts tr[data-metric]")
    assert sorted(a.get_attribute("data-metric") for a in alerts) == ["accuracy"] * 2 + ["psi"] * 2
    # The README's docs/monitoring_screenshot.png is refreshed by hand from this file:
    # tests never write into the repository.
    shoot_full(browser, "monitoring.png")

    # The header tabs switch views; the spend model is a click away.
    css(browser, '.view-tab[data-view="lineage"]')[0].click()
    assert css(browser, "main.layout")[0].is_displayed()
    assert not css(browser, "#monitoring")[0].is_displayed()
    css(browser, '.view-tab[data-view="monitoring"]')[0].click()
    css(browser, '.mon-model-item[data-id="model.monitoring.spend"]')[0].click()
    mae = css(browser, '.chart-card[data-metric="mae"] circle.point.alert')
    assert [p.get_attribute("data-window") for p in mae] == PLANTED_WINDOWS
    assert len(css(browser, '.chart-card[data-metric="mae"] path.series')) == 1  # no versions
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_monitoring_view_with_dozens_of_windows(
    monitoring_project: Path, browser: Any, serve_dir: Any
) -> None:
    """4h windows: 60 per model; charts keep their alert points, PSI cells go compact."""
    assert runner.invoke(app, ["run", "--project-dir", str(monitoring_project)]).exit_code == 0
    args = ["monitor", "--project-dir", str(monitoring_project), "--window", "4h"]
    assert runner.invoke(app, args).exit_code == 1
    site = build_docs(monitoring_project)
    seconds = open_page(browser, serve_dir(site) + "/index.html#monitoring")
    assert seconds < 10
    assert css(browser, ".mon-body")[0].get_attribute("data-model") == "churn"
    assert len(css(browser, '.chart-card[data-metric="accuracy"] path.series')) == 2
    assert css(browser, '.chart-card[data-metric="accuracy"] circle.point.alert')
    assert len(css(browser, "table.psi-table.compact th.psi-window")) == 60
    width = browser.execute_script("return document.querySelector('.mon-body').scrollWidth")
    visible = browser.execute_script("return document.querySelector('.mon-body').clientWidth")
    assert width <= visible, "only the PSI strip scrolls sideways, not the page"
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    screenshot(browser, "monitoring-4h.png")


def css_class(element: Any) -> str:
    return str(element.get_attribute("class") or "")


def shoot_full(browser: Any, name: str, copy_to: Path | None = None) -> Path:
    """A screenshot of the whole Monitoring view: the window grows to fit it, then shrinks back."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).move_to_element(
        css(browser, ".mon-page-head h1")[0]
    ).perform()  # no hover
    size = browser.get_window_size()
    height = browser.execute_script("return document.querySelector('.mon-shell').scrollHeight")
    browser.set_window_size(size["width"], height + 200)
    try:
        path = screenshot(browser, name)
    finally:
        browser.set_window_size(size["width"], size["height"])
    if copy_to is not None:
        shutil.copyfile(path, copy_to)
    return path
