"""The suite left the machine's own Docker engine as it found it (issue 12).

Runs last (marker ``last``): by now every other e2e test has shipped, broken,
rolled back and cleaned up services on the suite's own engine.
"""

from __future__ import annotations

import pytest

from tests.conftest import wait_for_answer
from tests.e2e.helpers import SENTINEL_GREETING, MachineEngine, machine_docker
from tests.e2e.helpers import machine_snapshot as _snapshot

pytestmark = [pytest.mark.e2e, pytest.mark.last]


def test_the_machine_engine_is_untouched_and_its_service_answers(machine_engine: MachineEngine, local_engine):
    containers, volumes = _snapshot()
    assert containers == machine_engine.containers, "containers on the machine's engine changed"
    assert volumes == machine_engine.volumes, "volumes on the machine's engine changed"
    assert wait_for_answer(machine_engine.url) == SENTINEL_GREETING
    # And the suite's engine really is another one.
    assert machine_docker("ps", "-q", "--filter", f"label=goship.service={machine_engine.service}").stdout.strip()
    assert local_engine.host and local_engine.host.startswith("unix:///tmp/goship-testbed/suite-engine/")
