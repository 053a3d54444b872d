"""Roles on a real SSH host: a module with cmd/api and cmd/worker shipped as one version.

The api runs two replicas behind the proxy; the worker (no port) runs two replicas gated
by its own check command, run in the container through the engine. A new version of
both ships under load with no failed api request; a worker that fails its check rolls
both back, and the old version keeps serving.

The worker writes to a named volume the api reads (app.volumes): what v1 wrote is still
there after v2 replaced both processes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import assert_clean_failure, run_goship
from tests.e2e.helpers import Load
from tests.e2e.helpers import get as _get
from tests.e2e.remote import on_host

pytestmark = pytest.mark.e2e

API = """package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const version = "v1"

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "api %s", version) })
	mux.HandleFunc("/jobs", func(w http.ResponseWriter, r *http.Request) {
		data, err := os.ReadFile("/data/jobs.log")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write(data)
	})
	srv := &http.Server{Addr: ":" + os.Getenv("PORT"), Handler: mux}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
"""

WORKER = """package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const version = "v1"
const broken = false

func main() {
	check := flag.Bool("check", false, "exit 0 once the worker is ready")
	queue := flag.String("queue", "", "the queue to work on")
	flag.Parse()
	if *check {
		if _, err := os.Stat("/tmp/worker-ready"); err != nil || broken {
			fmt.Println("queue unreachable")
			os.Exit(1)
		}
		return
	}
	fmt.Printf("worker %s on queue %s (QUEUE=%s)\\n", version, *queue, os.Getenv("QUEUE"))
	if err := os.WriteFile("/tmp/worker-ready", []byte(version), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	jobs, err := os.OpenFile("/data/jobs.log", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	host, _ := os.Hostname()
	fmt.Fprintf(jobs, "worker %s %s\\n", version, host)
	jobs.Close()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, os.Interrupt)
	tick := time.NewTicker(time.Second)
	for {
		select {
		case <-signals:
			return
		case <-tick.C:
		}
	}
}
"""

ROLES = (
    "build:\n  main: ./cmd/api\n"
    "roles:\n"
    "  worker:\n"
    "    main: ./cmd/worker\n"
    "    args: [-queue=default]\n"
    "    env: {QUEUE: default}\n"
    "    replicas: 2\n"
    "    health: {type: command, command: [/usr/local/bin/worker, -check], timeout: 10s}\n"
)


def _api_and_worker(project: Path) -> None:
    """examples/hello turned into a module with two main packages and their roles in goship.yaml."""
    (project / "main.go").unlink()
    (project / "main_test.go").unlink()
    for name, source in (("api", API), ("worker", WORKER)):
        (project / "cmd" / name).mkdir(parents=True)
        (project / "cmd" / name / "main.go").write_text(source)
    config = project / "goship.yaml"
    text = config.read_text().replace("app:\n  port: 8080\n", "app:\n  port: 8080\n  replicas: 2\n  volumes: [data:/data]\n")
    config.write_text(text + ROLES)


def _set(project: Path, name: str, old: str, new: str) -> None:
    main = project / "cmd" / name / "main.go"
    main.write_text(main.read_text().replace(old, new))


def _containers(host, process: str) -> list[str]:
    """The names of the service's running containers of one process, sorted."""
    out = on_host(
        host, "docker", "ps", "--filter", "label=goship.service=hello", "--filter", f"label=goship.process={process}",
        "--format", "{{.Names}}",
    )
    return sorted(out.split())


def _versions(host, names: list[str]) -> set[str]:
    out = on_host(host, "docker", "inspect", "--format", '{{index .Config.Labels "goship.version"}}', *names)
    return set(out.split())


def test_api_and_worker_ship_together_and_roll_back_together(production: Path, remote_host):
    _api_and_worker(production)
    on_host(remote_host, "docker", "volume", "rm", "-f", "hello-data", check=False)  # from an earlier run
    url = f"http://{remote_host.address}:80/"
    first = run_goship("ship", "production", "-C", str(production))
    assert first.returncode == 0, first.stderr
    assert _get(url) == "api v1"
    api, workers = _containers(remote_host, "web"), _containers(remote_host, "worker")
    assert len(api) == 2 and len(workers) == 2
    assert all(name.startswith("hello-worker-") for name in workers)
    assert "worker v1 on queue default (QUEUE=default)" in on_host(remote_host, "docker", "logs", workers[0])
    assert _get(url + "jobs").count("worker v1 ") == 2  # each worker replica wrote to the shared volume
    rows = json.loads(run_goship("status", "production", "--json", "-C", str(production)).stdout)["hosts"]
    assert [(r["role"], r["containers"]) for r in rows] == [("web", 2), ("worker", 2)]

    # a new version of both, under load: no api request fails, every container of both is new
    _set(production, "api", 'const version = "v1"', 'const version = "v2"')
    _set(production, "worker", 'const version = "v1"', 'const version = "v2"')
    load = Load(url, seconds=20)
    second = run_goship("ship", "production", "-C", str(production))
    statuses, errors, rps = load.report()
    print(f"\nhey during the ship of api and worker: {statuses}, errors={errors}, {rps:.0f} req/s")
    assert second.returncode == 0, second.stderr
    assert errors == 0 and set(statuses) == {"200"}, load.output
    assert _get(url) == "api v2"
    api2, workers2 = _containers(remote_host, "web"), _containers(remote_host, "worker")
    assert len(api2) == 2 and len(workers2) == 2 and not set(api2 + workers2) & set(api + workers)
    assert len(_versions(remote_host, api2 + workers2)) == 1  # one version: both processes from one image
    assert "worker v2 on queue default" in on_host(remote_host, "docker", "logs", workers2[0])
    jobs = _get(url + "jobs")
    assert jobs.count("worker v1 ") == 2 and jobs.count("worker v2 ") == 2, jobs  # v1's data survived the switch

    # a worker that fails its check: both roll back, under load, and v2 keeps serving untouched
    _set(production, "api", 'const version = "v2"', 'const version = "v3"')
    _set(production, "worker", "const broken = false", "const broken = true")
    load = Load(url, seconds=15)
    third = run_goship("ship", "production", "-C", str(production))
    statuses, errors, _ = load.report()
    assert_clean_failure(third, "hello worker", "is not healthy", "queue unreachable")
    assert errors == 0 and set(statuses) == {"200"}, load.output
    assert _get(url) == "api v2"
    assert _containers(remote_host, "web") == api2 and _containers(remote_host, "worker") == workers2

    shown = run_goship("releases", "production", "--role", "worker", "--json", "-C", str(production))
    records = json.loads(shown.stdout)["releases"]
    assert [r["result"] for r in records] == ["live", "live", "failed"]
    assert sorted(records[1]["roles"]["worker"]) == workers2

    logs = run_goship("logs", "production", "--role", "worker", "-n", "5", "-C", str(production))
    assert logs.returncode == 0 and "worker v2" in logs.stdout, logs.stderr
    mistyped = run_goship("logs", "production", "--role", "wroker", "-C", str(production))
    assert_clean_failure(mistyped, "no role 'wroker'", "did you mean 'worker'?")
