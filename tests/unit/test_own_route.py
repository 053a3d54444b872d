"""Every report about a service uses the service's own route: on a proxy that routes several services,
``goship status`` probes and prints the address of that service (its ``NAME.localhost``, its path
prefix, its domain), never the bare port, which answers for another service or with a 404."""

from __future__ import annotations

from pathlib import Path

import pytest

from goship.commands import operations, pipeline
from goship.config import Config
from goship.config.model import BuildConfig, DeployConfig, HealthConfig, ProxyConfig
from goship.deploy import operate
from goship.deploy.rollout import deploy_to_host, ensure_image
from goship.events import CollectingReporter, Stage
from goship.project import GoMod, Project
from goship.testing.engine import Behaviour
from goship.testing.hosts import FakeHosts
from goship.testing.process import FakeRunner, fake_go_and_git
from tests.unit.helpers import fake_host, image, nothing_real, release


@pytest.fixture(autouse=True)
def _nothing_real(monkeypatch, tmp_path):
    nothing_real(monkeypatch, tmp_path)


def _service(tmp_path: Path, name: str, **config: object) -> Project:
    root = tmp_path / name
    root.mkdir()
    settings = {"service": name, "build": BuildConfig(sbom=False), "health": HealthConfig(timeout=5.0),
                "deploy": DeployConfig(drain=0.5), **config}
    return Project(root, GoMod(f"example.com/{name}"), Config(**settings), root / "goship.yaml", name, ".")  # type: ignore[arg-type]


def _ship_locally(fakes: FakeHosts, project: Project, binary: bytes) -> str:
    runner = FakeRunner()
    fake_go_and_git(runner, binary, revision="ab" * 20)
    with fakes.session(project, runner=runner) as session:
        [host] = pipeline.ship(session).hosts
    return host.url


def test_status_of_a_second_local_service_probes_and_prints_its_own_name(tmp_path):
    fakes = FakeHosts()
    engine = fakes.add("local")
    hello, shop = _service(tmp_path, "hello"), _service(tmp_path, "shop")
    assert _ship_locally(fakes, hello, b"\x7fELF hello") == "http://localhost:8000"  # the first takes the catch-all
    assert _ship_locally(fakes, shop, b"\x7fELF shop") == "http://shop.localhost:8000"
    # The catch-all's service goes bad: a probe of the bare port would report its health, not shop's.
    [hello_app] = engine.app_containers("hello")
    engine.behaviours[hello_app.image] = Behaviour(status=503)
    prober = fakes.probers["local"]
    prober.probes.clear()
    with fakes.session(shop) as session:
        [row] = operations.status(session, "local")
    assert (row.url, row.health.split()[:2]) == ("http://shop.localhost:8000", ["HTTP", "200"])
    assert prober.probes == [(8000, "/healthz", "shop.localhost")]
    with fakes.session(hello) as session:
        [row] = operations.status(session, "local")
    assert (row.url, row.health.split()[:2]) == ("http://localhost:8000", ["HTTP", "503"])


def _deploy(fake, service: str, version: str, **settings: object) -> None:
    fake.engine.add_image(image(version))
    rel = release(version, service=service, **settings)
    deploy_to_host(fake.host, rel, lambda engine: ensure_image(engine, rel.image), Stage(CollectingReporter(), "deploy"), fake.clock)


def test_status_of_a_service_under_a_path_prefix_uses_the_prefix(tmp_path):
    fake = fake_host()
    _deploy(fake, "hello", "1")
    _deploy(fake, "api", "2", path_prefix="/api")
    api = _service(tmp_path, "api", proxy=ProxyConfig(path_prefix="/api"))
    fake.prober.probes.clear()
    [row] = operate.status(api, fake.host)
    assert (row.url, row.health.split()[:2]) == ("http://web1:80/api", ["HTTP", "200"])
    assert fake.prober.probes == [(80, "/api/healthz", None)]


def test_status_of_a_service_on_a_domain_reports_its_https_address_and_the_apps_own_health(tmp_path):
    fake = fake_host()
    _deploy(fake, "hello", "1")
    _deploy(fake, "docs", "3", domains=("docs.example.com",))
    fake.engine.behaviours[image("1")] = Behaviour(status=503)  # the catch-all's service: not docs's health
    docs = _service(tmp_path, "docs", proxy=ProxyConfig(domains=["docs.example.com"]))
    fake.prober.probes.clear()
    [row] = operate.status(docs, fake.host)
    # Plain HTTP to the domain is Caddy's redirect to HTTPS, which says only that the route is loaded:
    # the health is the app's own answer.
    assert (row.url, row.health.split()[:2]) == ("https://docs.example.com", ["HTTP", "200"])
    assert fake.prober.probes[0] == (80, "/healthz", "docs.example.com") and len(fake.prober.probes) == 2
