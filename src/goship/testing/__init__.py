"""Fakes of goship's seams for tests (goship's own, and yours).

``FakeEngine`` (``goship.testing.engine``) is a Docker host in memory that
answers the Engine API requests goship sends, with a model of Caddy on its
proxy containers; ``FakeProber`` (``goship.testing.prober``) answers health
probes from the same model; ``FakeClock`` makes timeouts pass at once.
``FakeMachine`` (``goship.testing.machine``) is a described computer for
``goship doctor``'s checks.
``FakeRegistry`` (``goship.testing.registry``) is an OCI registry in memory
for ``RegistryClient``, through ``httpx.MockTransport``.
"""
