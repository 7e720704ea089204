"""Fixtures for the docs tests: generated sites and, for browser tests, headless Chromium.

Browser tests skip with a message when chromium/chromedriver are missing, unless CI=true,
where a missing browser is a failure (install it with tools/install_browser.sh).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1600,1000",
]


def _missing(what: str) -> None:
    message = f"{what}; install it with tools/install_browser.sh (apt-get)"
    if IN_CI:
        pytest.fail(f"CI=true requires the browser: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        _missing("chromium or chromedriver is not installed")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed (pip install -e '.[dev]')")
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="aligned-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(str(driver_path)))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture()
def serve_dir() -> Iterator[Any]:
    """serve_dir(path) -> base URL of a local http.server for that folder."""
    servers: list[ThreadingHTTPServer] = []

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    def start(directory: Path) -> str:
        handler = functools.partial(Quiet, directory=str(directory))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def monitoring_project(tmp_path: Path) -> Path:
    """A private copy of fixtures/monitoring (drift and an accuracy drop planted on Feb 9-10)."""
    target = tmp_path / "monitoring"
    shutil.copytree(
        REPO_ROOT / "fixtures" / "monitoring", target, ignore=shutil.ignore_patterns("target")
    )
    return target


@pytest.fixture()
def big_project(tmp_path: Path) -> Path:
    return generate_big_project(tmp_path)


def generate_big_project(directory: Path, views: int = 500, models: int = 100) -> Path:
    """The benchmark's 500-view project (copied from benchmarks/.data when generated)."""
    cached = REPO_ROOT / "benchmarks" / ".data" / f"compile-{views}v-{models}m"
    target = directory / "big"
    if (cached / "aligned_project.yml").exists():
        shutil.copytree(cached, target, ignore=shutil.ignore_patterns("target"))
        return target
    import sys

    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    try:
        from compile_bench import build_project
    finally:
        sys.path.pop(0)
    target.mkdir()
    build_project(target, views, models)
    return target
