"""The proxy's route table and the Caddyfile rendered from it: who gets which request, and who is refused."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from goship.deploy import proxy, routes
from goship.deploy.routes import Route, Wanted, render, route_for, single
from goship.errors import DeployError

HELLO = Route("hello", single("hello-2", 8080, draining="hello-1"), catch_all=True)
SHOP = Route("shop", single("shop-1", 8080), path_prefix="/api", strip_prefix=True)
DOCS = Route("docs", single("docs-1", 8080), domains=("docs.example.com",), tls="internal")


@pytest.mark.parametrize(
    ("service", "wanted", "others", "error"),
    [
        # a second catch-all on a remote host's port: refused, naming the holder and the ways out
        ("api", Wanted(), [HELLO], "already sends every request to service 'hello'"),
        ("api", Wanted(path_prefix="/api"), [SHOP], "the path /api is already routed to service 'shop'"),
        ("api", Wanted(domains=("docs.example.com",), tls="internal"), [DOCS], "docs.example.com is already routed"),
        ("api", Wanted(domains=("docs.example.com",), path_prefix="/api"), [DOCS], "is served with tls internal"),
        # what does not collide
        ("api", Wanted(path_prefix="/v2"), [HELLO, SHOP, DOCS], None),
        ("api", Wanted(domains=("docs.example.com",), tls="internal", path_prefix="/api"), [DOCS], None),
        ("hello", Wanted(), [HELLO], None),  # its own route: replaced, not a conflict
    ],
)
def test_route_conflicts(service, wanted, others, error):
    if error is None:
        route_for(service, f"{service}-9", 8080, wanted, others)
        return
    with pytest.raises(DeployError, match=error) as refused:
        route_for(service, f"{service}-9", 8080, wanted, others)
    assert refused.value.hint


def test_the_ways_out_of_a_taken_catch_all_are_named():
    with pytest.raises(DeployError) as refused:
        route_for("api", "api-1", 8080, Wanted(), [HELLO])
    assert all(way in (refused.value.hint or "") for way in ("proxy.domains", "proxy.path_prefix", "proxy.port"))


def test_locally_every_service_has_its_own_name_and_the_first_keeps_the_catch_all():
    first = route_for("hello", "hello-1", 8080, Wanted(local=True), [])
    second = route_for("shop", "shop-1", 8080, Wanted(local=True), [first])
    assert (first.local_name, first.catch_all) == ("hello.localhost", True)
    assert (second.local_name, second.catch_all) == ("shop.localhost", False)


def test_rendered_caddyfile_orders_names_prefixes_and_the_catch_all():
    text = render([HELLO, SHOP, DOCS, Route("v2", single("v2-1", 8080), path_prefix="/api/v2")])
    catch_all = text[text.index(":8080 {"):]
    assert catch_all.index("path /api/v2 /api/v2/*") < catch_all.index("path /api /api/*") < catch_all.index("\thandle {")
    assert "uri strip_prefix /api\n" in catch_all and "strip_prefix /api/v2" not in catch_all
    assert "reverse_proxy hello-2:8080 hello-1:8080 {\n\t\t\tlb_policy first" in catch_all
    assert "docs.example.com {\n\ttls internal\n" in text
    assert "no goship service takes this request" not in text  # hello takes every other request
    assert 'respond "no goship service takes this request here" 404' in render([SHOP])


def test_the_status_window_serves_the_table_and_the_upstreams_only():
    window = render([])[render([]).index(":2020 {"): render([]).index(":8080 {")]
    assert "method GET" in window and "path /reverse_proxy/upstreams" in window
    assert "handle /goship/routes.json {\n\t\troot * /etc/caddy\n\t\tfile_server" in window
    assert window.rstrip().endswith("respond 404\n}")


def test_route_table_round_trips_and_survives_junk():
    table = {"hello": HELLO, "shop": SHOP, "docs": DOCS}
    assert proxy.parse_table(proxy.table_json(table).encode()) == table
    assert proxy.parse_table(b"not json") is None
    assert proxy.parse_table(json.dumps({"routes": {"x": {"service": "x"}}}).encode()) == {}


def test_site_files_of_goship_before_the_table_become_routes():
    old = (
        "# goship service docs\ndocs.example.com, www.docs.example.com {\n\ttls internal\n"
        "\treverse_proxy docs-abc-1:8080 {\n\t\tlb_try_duration 5s\n\t}\n}\n"
    )
    assert routes.from_site_file("docs", old) == Route(
        "docs", single("docs-abc-1", 8080), domains=("docs.example.com", "www.docs.example.com"), tls="internal"
    )
    catch_all = "# goship service hello\n:8080 {\n\treverse_proxy hello-x:8080 {\n\t}\n}\n"
    assert routes.from_site_file("hello", catch_all) == Route("hello", single("hello-x", 8080), catch_all=True)
    assert routes.from_site_file("gone", "# goship service gone: no route\n(goship-unrouted-gone) {\n}\n") is None


@pytest.mark.skipif(shutil.which("caddy") is None, reason="needs the caddy binary (scripts/install-system-packages.sh installs it)")
def test_real_caddy_accepts_every_rendered_shape(tmp_path):
    for table in ([], [HELLO], [HELLO, SHOP, DOCS], [SHOP, Route("v2", single("v2-1", 8080), path_prefix="/api/v2")],
                  [Route("a", single("a-1", 8080), local_name="a.localhost", catch_all=True),
                   Route("b", single("b-1", 8080), local_name="b.localhost")]):
        caddyfile = tmp_path / "Caddyfile"
        caddyfile.write_text(render(table))
        checked = subprocess.run(["caddy", "adapt", "--config", str(caddyfile), "--adapter", "caddyfile"],
                                 capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, checked.stderr
