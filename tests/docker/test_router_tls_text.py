"""The router's TLS directives, on rendered route and endpoint files (no engine needed)."""

from __future__ import annotations

import pytest

from compiler.errors import ApplyError
from compiler.targets.docker.facts import EndpointRouteFact, RouteFact
from compiler.targets.docker.router import Router, parse_endpoint_header, parse_route_header
from compiler.targets.docker.router_tls import TlsRoute, with_tls

TLS = TlsRoute("iris-tls", "sha256:" + "ab" * 32, verify_client=True)


def _router() -> Router:
    return Router(None, "ws", "local", "127.0.0.1", "debian")  # type: ignore[arg-type]


def test_a_route_with_tls_listens_ssl_with_modern_settings_and_records_only_the_fingerprint():
    route = RouteFact("blue", "c1", 18000, 32000, "fp", tls=TLS)
    text = _router().route_text(route)
    assert "listen 127.0.0.1:18000 ssl;" in text and "listen 127.0.0.1:18000;" not in text
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in text and "TLSv1.1" not in text and "RC4" not in text
    assert f"ssl_certificate {TLS.folder}/tls.crt;" in text and f"ssl_client_certificate {TLS.folder}/ca.crt;" in text
    assert "ssl_verify_client on;" in text and "ssl_conf_command VerifyMode Peer,Request,Require;" in text
    assert parse_route_header(text.splitlines()[0]) == route  # the header round-trips, tls included
    plain = _router().route_text(RouteFact("blue", "c1", 18000, 32000, "fp"))
    assert "ssl" not in plain and '"tls"' not in plain.splitlines()[0]


def test_an_endpoint_with_tls_and_no_client_certificates():
    tls = TlsRoute("web-tls", "sha256:" + "cd" * 32)
    ep = EndpointRouteFact("web", 18001, "fp", (("blue", 100),), "/iris", tls)
    text = _router().endpoint_text(ep)
    assert "listen 127.0.0.1:18001 ssl;" in text and "ssl_verify_client" not in text
    assert parse_endpoint_header(text.splitlines()[0]) == ep


def test_a_template_with_two_listen_lines_is_refused():
    with pytest.raises(ApplyError, match="2 listen lines"):
        with_tls("server {\n    listen a:1;\n    listen b:2;\n}\n", TLS)
