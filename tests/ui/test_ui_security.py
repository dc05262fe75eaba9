"""Where `modelctl ui` listens and who may read it: 127.0.0.1 by default; with an explicit --host a random
token is required (printed in the URL) — by ?token= (which sets a cookie), the cookie, or a Bearer header."""

from __future__ import annotations

import socket
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from selenium.webdriver.common.by import By
from ui_support import chromium, open_view, ui_server

PATHS = ("/", "/api/v1/graph", "/api/v1/openapi.json", "/static/app.js", "/api/v1/deployments/iris-local")


def _other_address() -> str | None:
    """A non-loopback address of this machine (the one its default route leaves from), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # UDP: nothing is sent
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_bound_to_loopback_by_default_without_a_token(iris_copy):
    with ui_server(iris_copy) as ui:
        assert urlsplit(ui.url).hostname == "127.0.0.1" and "token" not in ui.url
        assert ui.get("/api/v1/graph").status_code == 200
        assert ui.get("/api/v1/graph", headers={"Host": f"localhost:{ui.port}"}).status_code == 200
        rebound = ui.get("/api/v1/graph", headers={"Host": f"evil.example:{ui.port}"})  # DNS rebinding
        assert rebound.status_code == 403 and "refused" in rebound.json()["error"]
        other = _other_address()
        if other is None:
            pytest.skip("this machine has no non-loopback address to try")
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://{other}:{ui.port}/api/v1/graph", timeout=5)


def test_an_explicit_host_requires_the_printed_token(iris_copy):
    with ui_server(iris_copy, "--host", "0.0.0.0") as ui:
        [token] = parse_qs(urlsplit(ui.url).query)["token"]
        assert len(token) >= 24
        for path in PATHS:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {token}"}):
                resp = ui.get(path, headers=headers)
                assert resp.status_code == 401, (path, headers)
                assert resp.headers["content-type"] == "application/json" and "token" in resp.json()["error"]
            assert ui.get(path, params={"token": token + "x"}).status_code == 401
            assert ui.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 200, path
        with httpx.Client(base_url=ui.base, timeout=60) as client:  # ?token= sets a cookie; the cookie suffices
            first = client.get("/", params={"token": token})
            assert first.status_code == 303 and first.headers["location"] == "/"  # the token leaves the address bar
            assert "httponly" in first.headers["set-cookie"].lower()
            assert client.get("/").status_code == 200
            assert client.get("/api/v1/graph").status_code == 200
        # the body of a 401 never echoes the token
        assert token not in ui.get("/api/v1/graph", params={"token": "nope"}).text


def test_the_printed_url_opens_the_dashboard_in_chromium(iris_copy):
    with ui_server(iris_copy, "--host", "127.0.0.1") as ui, chromium() as driver:
        assert "token=" in ui.url
        open_view(driver, ui.url, "graph")  # the page's own API calls carry the cookie ?token= set
        assert "token" not in driver.current_url and driver.current_url.endswith("/#/graph")
        assert "Deployment/iris-local" in driver.find_element(By.ID, "graph-nodes").text
        driver.delete_all_cookies()
        driver.get(ui.base + "/api/v1/graph")
        assert "unauthorized" in driver.find_element(By.TAG_NAME, "body").text
