"""`modelctl ui` as a real process, Debian's Chromium driven by Selenium, and the iris demo repo.

Screenshots go to out/ui-screenshots/ (git-ignored). The browser is /usr/bin/chromium through
/usr/bin/chromedriver, headless, with a new empty profile and no network of its own.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from testkit import wait_until

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "iris"
SCREENSHOTS = REPO / "out" / "ui-screenshots"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SCRIPT_TAG = "<script>window.__pwned=1</script>"  # a model tag: must render as text, never run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UiServer:
    """`modelctl ui DIR --port P [...]` in a child process; `url` is what it printed (token included)."""

    def __init__(self, root: Path, *args: str) -> None:
        self.port = free_port()
        env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="400")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "compiler.cli.main", "ui", str(root), "--port", str(self.port), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=REPO,
        )
        line = wait_until(self._printed_url, timeout=60, message="modelctl ui printed its URL")
        self.url = line
        self.base = re.sub(r"\?.*$", "", line).rstrip("/")
        wait_until(self._answers, timeout=30, message="the UI answered", ignore=(httpx.TransportError,))

    def _printed_url(self) -> str | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"modelctl ui exited {self.proc.returncode}: {self.proc.stdout.read()}")
        line = self.proc.stdout.readline()
        found = re.search(r"(http://\S+)", line)
        return found.group(1) if found else None

    def _answers(self) -> bool:
        return httpx.get(self.base + "/api/v1/openapi.json", timeout=5).status_code in (200, 401)

    def get(self, path: str, **kwargs) -> httpx.Response:  # noqa: ANN003
        return httpx.get(self.base + path, timeout=60, **kwargs)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def ui_server(root: Path, *args: str) -> Iterator[UiServer]:
    server = UiServer(root, *args)
    try:
        yield server
    finally:
        server.close()


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium session (Selenium); skipped, or failed on CI, when Chromium is not installed."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        why = f"{CHROMIUM} / {CHROMEDRIVER} missing: apt-get install -y chromium chromium-driver"
        if os.environ.get("CI"):
            pytest.fail(f"{why} [CI is set: browser tests must not be skipped]", pytrace=False)
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="modelctl-ui-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_view(driver, url: str, view: str, arg: str | None = None) -> None:  # noqa: ANN001
    """Open #/VIEW[/ARG] and wait until the front end says it rendered it."""
    target = url.split("#")[0] + f"#/{view}" + (f"/{arg}" if arg else "")
    driver.execute_script("const m = document.getElementById('view'); if (m) m.dataset.state = 'loading';")
    driver.get(target)  # the same URL again renders at the next refresh (every 5 s)
    wait_until(
        lambda: (
            driver.execute_script(
                "const m = document.getElementById('view'); return m && m.dataset.view === arguments[0] && m.dataset.state;",
                "deployment" if view == "deployment" else view,
            )
            in ("ready", "error")
        ),
        timeout=60,
        message=f"the {view} view rendered",
    )
    state = driver.execute_script("return document.getElementById('view').dataset.state")
    assert state == "ready", driver.find_element("id", "view").text
    stray = driver.execute_script(
        "return Array.from(document.querySelectorAll('#view, #view *')).flatMap(e => Array.from(e.childNodes))"
        ".filter(n => n.nodeType === 3 && ['null', 'undefined'].includes(n.textContent.trim())).length"
    )
    assert stray == 0, f"the {view} view shows a bare null/undefined"


def screenshot(driver, name: str) -> Path:  # noqa: ANN001
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 5000, f"{path} looks empty"
    return path


def severe_console_errors(driver) -> list[str]:  # noqa: ANN001
    """Script errors and CSP violations the page logged (a 404 of a source map is not one)."""
    return [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and ".map" not in e["message"] and "favicon" not in e["message"]
    ]


def copy_example(dest: Path, name: str | None = None) -> Path:
    """examples/iris as git has it (no local registry or secrets), with a model tag that is markup."""
    name = name or "ui" + uuid.uuid4().hex[:8]
    files = subprocess.run(
        ["git", "ls-files", "examples/iris"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    for rel in files:
        target = dest / Path(rel).relative_to("examples/iris")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / rel, target)
    workspace = dest / "modelctl.yaml"  # a name of its own: never another test's (or the demo's) containers
    workspace.write_text(workspace.read_text().replace("name: iris-team", f"name: {name}"))
    models = dest / "models/iris.yaml"
    models.write_text(
        models.read_text().replace(
            "algorithm: logistic-regression}", f"algorithm: logistic-regression, note: '{SCRIPT_TAG}'}}"
        )
    )
    assert SCRIPT_TAG in models.read_text()
    return dest


@pytest.fixture
def iris_copy(tmp_path) -> Path:
    return copy_example(tmp_path / "iris")
