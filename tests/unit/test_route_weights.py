"""Routes with weighted upstreams: today's routes render and store exactly as before, splits render as Caddy 2.6 takes them."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from goship.deploy import proxy
from goship.deploy.rollout import app_spec, container_name, live_container
from goship.deploy.routes import (
    Route,
    Upstream,
    Wanted,
    checked_upstreams,
    parse_route,
    present,
    render,
    route_for,
    route_to,
    single,
    split_addresses,
)
from goship.deploy.routing import split
from goship.deploy.specs import app_container
from goship.errors import DeployError
from goship.events import CollectingReporter, Stage
from goship.process import find_program, run
from goship.testing.engine import caddy_pools
from tests.unit.helpers import SERVICE, fake_host, release, ship

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


# --- splits: model, rendering, routes.json ---------------------------------------------------------


def _split(service: str, upstreams: list[tuple[str, int, int]], wanted: Wanted | None = None, others=()) -> Route:
    return route_to(service, checked_upstreams(upstreams), wanted or Wanted(), list(others))


def _splits() -> list[Route]:
    """A canary at 1:3 on the catch-all, one at 10:90 on a prefix with the version before both draining,
    and splits on a domain and on a local name."""
    hello = _split("hello", [("hello-2", 8080, 1), ("hello-1", 8080, 3)])
    shop = _split("shop", [("shop-3", 8080, 10), ("shop-2", 8080, 90), ("shop-1", 8080, 0)],
                  Wanted(path_prefix="/api", strip_prefix=True), [hello])
    docs = _split("docs", [("docs-2", 9000, 1), ("docs-1", 9000, 1)], Wanted(domains=("docs.example.com",), tls="internal"))
    a = _split("a", [("a-2", 8080, 2), ("a-1", 8080, 6)], Wanted(local=True), [hello])
    return [hello, shop, docs, a]


def test_a_split_renders_each_upstream_as_often_as_its_weight_under_round_robin():
    text = render(_splits())
    assert text == (GOLDEN / "split.Caddyfile").read_text()
    assert (
        "\thandle {\n\t\treverse_proxy hello-2:8080 hello-1:8080 hello-1:8080 hello-1:8080 {\n"
        "\t\t\tlb_policy round_robin\n\t\t\tlb_try_duration 5s\n\t\t\tlb_try_interval 100ms\n\t\t}\n\t}\n"
    ) in text
    # 10:90 is 1:9; the draining version is listed where no request reaches it
    assert "reverse_proxy shop-3:8080" + " shop-2:8080" * 9 + " {\n" in text
    assert text.count("shop-1:8080") == 1 and "\t\treverse_proxy shop-1:8080\n\t}\n" in text
    assert "reverse_proxy a-2:8080 a-1:8080 a-1:8080 a-1:8080 {" in text  # 2:6 is 1:3
    assert "weighted_round_robin" not in text  # not in Caddy 2.6


def test_weights_are_reduced_by_their_gcd():
    assert split_addresses(_split("s", [("s-1", 80, 20), ("s-2", 80, 60)])) == ["s-1:80", "s-2:80", "s-2:80", "s-2:80"]
    assert split_addresses(_split("s", [("s-1", 80, 3), ("s-2", 80, 2)])) == ["s-1:80"] * 3 + ["s-2:80"] * 2


def test_one_container_with_a_weight_is_todays_route():
    plain = route_for("hello", "hello-2", 8080, Wanted(), [])
    assert _split("hello", [("hello-2", 8080, 1)]) == plain
    assert _split("hello", [("hello-2", 8080, 7)]) == plain  # its share is all requests, whatever the number
    # weight 0 is draining: listed after the one that gets the requests, as change(draining=) writes it
    draining = route_for("hello", "hello-2", 8080, Wanted(), [], draining="hello-1")
    assert _split("hello", [("hello-1", 8080, 0), ("hello-2", 8080, 5)]) == draining
    assert render([_split("hello", [("hello-2", 8080, 3), ("hello-1", 8080, 0)])]) == render([draining])
    assert "upstreams" not in draining.to_dict()


@pytest.mark.parametrize(
    ("upstreams", "error"),
    [
        ([], "no container of the split has a weight above 0"),
        ([("a-1", 8080, 0), ("a-2", 8080, 0)], "no container of the split has a weight above 0"),
        ([("a-1", 8080, -1), ("a-2", 8080, 3)], "weight -1 is not a whole number of 0 or more"),
        ([("a-1", 8080, 1.5), ("a-2", 8080, 3)], "weight 1.5 is not a whole number"),
        ([("a-1", 8080, "10"), ("a-2", 8080, 90)], "weight '10' is not a whole number"),
        ([("a-1", 8080, True), ("a-2", 8080, 3)], "weight True is not a whole number"),
        ([("a-1", 8080, 1), ("a-1", 8080, 3)], "a-1 is listed twice"),
        ([("a-1", 8080, 1), ("a-2", 8080, 100)], "finer than the proxy expresses"),
        ([("a-1 {", 8080, 1), ("a-2", 8080, 3)], "'a-1 {' is not a container name"),
        ([("a-1", 0, 1), ("a-2", 8080, 3)], "port 0 is not a TCP port"),
    ],
)
def test_invalid_weights_are_refused_with_a_goship_error(upstreams, error):
    with pytest.raises(DeployError, match=re.escape(error)) as refused:
        checked_upstreams(upstreams)
    assert refused.value.hint


def test_a_table_written_before_weights_loads_and_is_written_back_byte_for_byte():
    old = (GOLDEN / "routes.json").read_text()  # as today's goship wrote it
    table = proxy.parse_table(old.encode())
    assert table == {r.service: r for kind in _todays_routes().values() for r in kind}
    assert table["hello"].upstreams == (Upstream("hello-2", 8080, 1), Upstream("hello-1", 8080, 0))
    assert proxy.table_json(table) == old


def test_a_split_is_stored_with_its_upstreams_and_names_its_primary_for_older_readers():
    table = {r.service: r for r in _splits()}
    text = proxy.table_json(table)
    assert proxy.parse_table(text.encode()) == table
    shop = json.loads(text)["routes"]["shop"]
    assert shop["upstreams"] == [{"name": "shop-3", "port": 8080, "weight": 10},
                                 {"name": "shop-2", "port": 8080, "weight": 90},
                                 {"name": "shop-1", "port": 8080, "weight": 0}]
    # A goship before weights reads only these: the container with the largest share, and one draining.
    assert (shop["upstream"], shop["port"], shop["draining"]) == ("shop-2", 8080, "shop-1")
    older = parse_route({k: v for k, v in shop.items() if k != "upstreams"})
    assert older is not None and older.upstreams == single("shop-2", 8080, "shop-1")
    # junk in the upstreams: not a route
    assert parse_route({**shop, "upstreams": [{"name": "x", "port": 1, "weight": -1}]}) is None
    assert parse_route({**shop, "upstreams": "shop-3"}) is None


def test_upstreams_whose_container_is_gone_leave_the_route():
    hello = _split("hello", [("hello-2", 8080, 1), ("hello-1", 8080, 3), ("hello-0", 8080, 0)])
    assert present(hello, {"hello-1", "hello-2", "hello-0"}) is hello
    # the canary gone: the old version alone, a plain route again
    assert present(hello, {"hello-1", "hello-0"}) == route_for("hello", "hello-1", 8080, Wanted(), [], draining="hello-0")
    assert present(hello, {"hello-0"}) is None  # only a draining one left: no route


@pytest.mark.skipif(find_program("caddy") is None, reason="needs the caddy binary (scripts/install-system-packages.sh installs it)")
def test_real_caddy_validates_the_weighted_caddyfile(tmp_path):
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(render(_splits()))
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    checked = run(["caddy", "validate", "--config", str(caddyfile), "--adapter", "caddyfile"], env=env, check=False)
    assert checked.ok, checked.err
    # ... and this Caddy has no weighted policy, which is why splits are rendered by repetition
    weighted = render(_splits()[:1]).replace("lb_policy round_robin", "lb_policy weighted_round_robin 1 3")
    caddyfile.write_text(weighted)
    refused = run(["caddy", "validate", "--config", str(caddyfile), "--adapter", "caddyfile"], env=env, check=False)
    if refused.ok:
        pytest.skip("this Caddy has weighted_round_robin (2.8 or later); goship's repetition works there too")
    assert "weighted_round_robin" in refused.err


# --- a split through routing, against the fake engine ------------------------------------------------


def test_the_fake_proxy_forwards_as_the_rendered_caddyfile_says():
    pools = caddy_pools(render(_splits()))
    assert pools[(":8080", None)] == ("round_robin", ("hello-2:8080",) + ("hello-1:8080",) * 3)
    assert pools[(":8080", "/api")] == ("round_robin", ("shop-3:8080",) + ("shop-2:8080",) * 9)  # not the draining one
    assert pools[("docs.example.com", None)] == ("round_robin", ("docs-2:9000", "docs-1:9000"))
    assert pools[("http://a.localhost", None)] == ("round_robin", ("a-2:8080",) + ("a-1:8080",) * 3)
    today = caddy_pools((GOLDEN / "remote.Caddyfile").read_text())
    assert today[(":8080", None)] == ("first", ("hello-2:8080", "hello-1:8080"))
    assert today[("www.example.com", "/blog")] == ("first", ("blog-3:9000",))



def _second_container(fake, version: str) -> str:
    """A running container of another version beside the live one, as a canary deploy would start it."""
    rel = release(version)
    fake.engine.add_image(rel.image)
    name = container_name(rel)
    fake.host.engine.create(name, app_container(app_spec(rel, name)))
    fake.host.engine.start(name)
    return name


def _answers(fake, requests: int) -> list[str]:
    """The version that answers each of ``requests`` requests through the proxy."""
    return [fake.serves() for _ in range(requests)]


def test_a_one_to_three_split_sends_each_container_its_share_in_caddys_order():
    fake = fake_host()
    ship(fake, "1")
    one = live_container(fake.host, SERVICE)
    two = _second_container(fake, "2")
    stage = Stage(CollectingReporter(), "split")

    route = split(fake.host, SERVICE, stage, upstreams=[(one, 8080, 1), (two, 8080, 3)], wanted=Wanted(), clock=fake.clock)

    assert route.serving == (Upstream(one, 8080, 1), Upstream(two, 8080, 3)) and route.upstream == two
    assert fake.table()[SERVICE]["upstreams"] == [{"name": one, "port": 8080, "weight": 1},
                                                   {"name": two, "port": 8080, "weight": 3}]
    caddyfile = fake.engine.proxy_files(fake.engine.containers["goship-proxy-80"])["Caddyfile"]
    assert f"reverse_proxy {one}:8080 {two}:8080 {two}:8080 {two}:8080 {{\n\t\t\tlb_policy round_robin" in caddyfile
    answers = _answers(fake, 400)
    assert answers[:8] == ["2", "2", "2", "1"] * 2  # Caddy's counter is advanced first: the second listed goes first
    assert (answers.count("1"), answers.count("2")) == (100, 300)
    assert all(fake.prober.http_get("127.0.0.1", 80, "/").status == 200 for _ in range(8))
    assert fake.engine.upstreams["goship-proxy-80"] == {f"{one}:8080", f"{two}:8080"}
    assert live_container(fake.host, SERVICE) == two  # the larger share is the primary


def test_promoting_a_split_writes_todays_route_and_a_deploy_after_a_split_replaces_both():
    fake = fake_host()
    ship(fake, "1")
    one = live_container(fake.host, SERVICE)
    two = _second_container(fake, "2")
    stage = Stage(CollectingReporter(), "split")
    split(fake.host, SERVICE, stage, upstreams=[(two, 8080, 1), (one, 8080, 9)], wanted=Wanted(), clock=fake.clock)
    assert sorted(_answers(fake, 10)) == ["1"] * 9 + ["2"]

    # promote: all to the new one, the old one draining - exactly what a deploy's switch writes
    split(fake.host, SERVICE, stage, upstreams=[(two, 8080, 1), (one, 8080, 0)], wanted=Wanted(), clock=fake.clock)
    entry = fake.table()[SERVICE]
    assert "upstreams" not in entry and (entry["upstream"], entry["draining"]) == (two, one)
    assert set(_answers(fake, 5)) == {"2"}

    split(fake.host, SERVICE, stage, upstreams=[(two, 8080, 1), (one, 8080, 1)], wanted=Wanted(), clock=fake.clock)
    ship(fake, "3")  # a plain deploy after a split: switches to 3, drains and removes both
    assert fake.serves() == "3" and fake.apps() == ["3"]
    # both were listed draining (weight 0) by the switch, so what either still answered was counted
    [three] = [c.name for c in fake.engine.app_containers(SERVICE)]
    entry = fake.table()[SERVICE]
    assert entry["upstream"] == three
    assert {(u["name"], u["weight"]) for u in entry["upstreams"]} == {(three, 1), (two, 0), (one, 0)}


def test_a_refused_split_changes_nothing():
    fake = fake_host()
    ship(fake, "1")
    one = live_container(fake.host, SERVICE)
    before = fake.table()
    stage = Stage(CollectingReporter(), "split")
    changing = len([r for r in fake.engine.requests if r.method in ("POST", "PUT", "DELETE")])
    with pytest.raises(DeployError, match="weight -2"):
        split(fake.host, SERVICE, stage, upstreams=[(one, 8080, -2)], wanted=Wanted(), clock=fake.clock)
    assert len([r for r in fake.engine.requests if r.method in ("POST", "PUT", "DELETE")]) == changing
    with pytest.raises(DeployError, match="hello-9-abc: no such container runs here"):
        split(fake.host, SERVICE, stage, upstreams=[(one, 8080, 1), ("hello-9-abc", 8080, 1)], wanted=Wanted(),
              clock=fake.clock)
    assert fake.table() == before and fake.serves() == "1"
