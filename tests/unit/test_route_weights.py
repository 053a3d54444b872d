"""Routes with weighted upstreams: today's routes render and store exactly as before, splits render as Caddy 2.6 takes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from goship.deploy import proxy
from goship.deploy.routes import Route, Wanted, render, route_for

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "routes"


def _todays_routes() -> dict[str, list[Route]]:
    """Every kind of route goship wrote before weights, made the way deploys make them (``route_for``)."""
    hello = route_for("hello", "hello-2", 8080, Wanted(), [], draining="hello-1")  # catch-all, draining
    shop = route_for("shop", "shop-1", 8080, Wanted(path_prefix="/api", strip_prefix=True), [hello])
    v2 = route_for("v2", "v2-1", 8080, Wanted(path_prefix="/api/v2"), [hello, shop])
    docs = route_for("docs", "docs-1", 8080, Wanted(domains=("docs.example.com",), tls="internal"), [hello])
    blog = route_for("blog", "blog-3", 9000, Wanted(domains=("example.com", "www.example.com"), path_prefix="/blog",
                                                    strip_prefix=True), [hello])
    a = route_for("a", "a-1", 8080, Wanted(local=True), [])  # local: its own name and the catch-all
    b = route_for("b", "b-1", 8080, Wanted(local=True), [a], draining="b-0")  # local: its own name only
    lone = route_for("lone", "lone-1", 8080, Wanted(), [])  # the plain single upstream
    return {"remote": [hello, shop, v2, docs, blog], "local": [a, b], "lone": [lone]}


@pytest.mark.parametrize("kind", ["remote", "local", "lone"])
def test_todays_routes_render_byte_for_byte_as_before(kind):
    assert render(_todays_routes()[kind]) == (GOLDEN / f"{kind}.Caddyfile").read_text()


def test_todays_routes_are_stored_byte_for_byte_as_before():
    table = {r.service: r for kind in _todays_routes().values() for r in kind}
    assert proxy.table_json(table) == (GOLDEN / "routes.json").read_text()
