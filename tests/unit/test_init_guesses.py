"""goship init's guesses from Go sources: the listen port (only the HTTP port's
variable, every kind of listen call, the main listener among several) and the
health path (registrations only, router group prefixes); and what init says of
the listener it found: none, several, loopback only, APP_PORT instead of PORT."""

from __future__ import annotations

import pytest

from goship.commands.init.files import InitAnswers, merge_gitattributes, render_gitattributes, render_goship_yaml
from goship.commands.init.init import InitOptions, plan_init
from goship.config import parse_config
from goship.golang import detect
from tests.conftest import run_goship
from tests.unit.helpers import MAIN_LISTENING, go_module


def _main(body: str) -> dict[str, str]:
    return {"main.go": "package main\n\nfunc main() {\n" + body + "\n}\n"}


def test_other_port_variables_are_not_the_http_port():
    source = (
        'dbPort := os.Getenv("DB_PORT")\nif dbPort == "" {\n\tdbPort = "5432"\n}\n'
        'redis := getenv("REDIS_PORT", "6379")\n'
        'log.Fatal(http.ListenAndServe(":8080", nil))'
    )
    guess = detect.guess_port(_main(source))
    assert guess is not None and (guess.value, "listen address" in guess.evidence) == ("8080", True)


@pytest.mark.parametrize("name", ["PORT", "HTTP_PORT", "APP_PORT", "LISTEN_PORT"])
def test_the_http_port_variables_count(name):
    guess = detect.guess_port(_main(f'p := os.Getenv("{name}")\nif p == "" {{\n\tp = "7001"\n}}'))
    assert guess is not None and guess.value == "7001" and f"{name} variable" in guess.evidence


def test_a_port_variable_without_default_takes_no_nearby_number():
    source = 'port := os.Getenv("PORT")\ntimeout := "30"\nlog.Printf("retry in %d", 30)\nhttp.ListenAndServe(":"+port, nil)'
    assert detect.guess_port(_main(source)) is None


def test_a_default_assigned_before_the_port_variable_is_read():
    source = 'port := "7777"\nif p := os.Getenv("PORT"); p != "" {\n\tport = p\n}\nhttp.ListenAndServe(":"+port, nil)'
    guess = detect.guess_port(_main(source))
    assert guess is not None and guess.value == "7777"


@pytest.mark.parametrize(
    ("source", "port"),
    [
        ('router := gin.Default()\nrouter.GET("/", index)\nrouter.Run(":8000")', "8000"),
        ('e := echo.New()\ne.Logger.Fatal(e.Start(":1323"))', "1323"),
        ('app := fiber.New()\nlog.Fatal(app.Listen(":3000"))', "3000"),
        ('log.Fatal(http.ListenAndServe(addr, nil))\n}\nconst addr = ":9100"\nfunc x() {', "9100"),
        ('const (\n\thost = "0.0.0.0"\n\taddr = host + ":9101"\n)\nhttp.ListenAndServe(listenAddr, nil)\nvar listenAddr = ":9102"', "9102"),
        ('srv := &http.Server{Addr: ":7000"}\nlog.Fatal(srv.ListenAndServe())', "7000"),
        (
            'port := "8090"\nif v, ok := os.LookupEnv("PORT"); ok {\n\tport = v\n}\n'
            'srv := &http.Server{\n\tAddr:    ":" + port,\n\tHandler: mux,\n}\nsrv.ListenAndServe()',
            "8090",
        ),
        ('port := cfg.Port\nsrv := http.Server{Addr: fmt.Sprintf(":%d", port)}\n}\nvar cfg = Config{Port: 8123}\nfunc y() {', "8123"),
        ('http.ListenAndServe(net.JoinHostPort("", "8124"), nil)', "8124"),
    ],
)
def test_listen_calls_the_guess_follows(source, port):
    guess = detect.guess_port(_main(source))
    assert guess is not None and guess.value == port, guess


def test_other_addr_fields_are_not_listeners():
    source = 'rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})\n_ = rdb'
    assert detect.guess_port(_main(source)) is None


def test_the_main_listener_wins_over_a_metrics_one():
    source = (
        'go func() { log.Fatal(http.ListenAndServe(":9090", promhttp.Handler())) }()\n'
        'mux := http.NewServeMux()\nmux.HandleFunc("/", index)\n'
        'log.Fatal(http.ListenAndServe(":8080", mux))'
    )
    guess = detect.guess_port(_main(source))
    assert guess is not None and guess.value == "8080"
    assert guess.others == ("9090 (main.go:4)",)

    servers = (
        'metricsServer := &http.Server{Addr: ":9090", Handler: metricsMux}\n'
        'api := &http.Server{Addr: ":8081", Handler: router}\n'
        'go metricsServer.ListenAndServe()\napi.ListenAndServe()'
    )
    guess = detect.guess_port(_main(servers))
    assert guess is not None and guess.value == "8081" and guess.others == ("9090 (main.go:4)",)
    # Without a router to tell them apart, the non-metrics one.
    plain = 'go http.ListenAndServe(":6060", pprofHandler)\nhttp.ListenAndServe(":8082", h)'
    assert detect.guess_port(_main(plain)).value == "8082"  # type: ignore[union-attr]


def test_goship_yaml_mentions_the_other_ports():
    answers = InitAnswers("svc", ".", 8080, "/healthz", port_evidence="main.go:7 (listen address)", other_ports=("9090 (main.go:4)",))
    text = render_goship_yaml(answers)
    assert "also listens on 9090 (main.go:4)" in text and parse_config(text).app.port == 8080


@pytest.mark.parametrize(
    ("source", "path"),
    [
        ('api := r.Group("/api")\napi.GET("/health", h)\nr.GET("/ping", p)', "/ping"),  # top level first
        ('api := r.Group("/api")\napi.GET("/health", h)', "/api/health"),
        ('api := r.Group("/api")\nv1 := api.Group("/v1")\nv1.GET("/healthz", h)', "/api/v1/healthz"),
        ('s := r.PathPrefix("/v1").Subrouter()\ns.HandleFunc("/healthz", h)', "/v1/healthz"),
        ('r.Route("/api", func(r chi.Router) {\n\tr.Get("/health", h)\n})', "/api/health"),
        ('r.Route("/api", func(r chi.Router) {\n\tr.Get("/health", h)\n})\nr.Get("/readyz", h)', "/readyz"),
        ('mux.Handle("/api/", http.StripPrefix("/api", sub))\nsub.HandleFunc("/ping", h)', "/api/ping"),
        ('log.Printf("/health", x)', None),
        ('fmt.Println("/healthz")\nw.Header().Set("/ping", "x")', None),
        ('router.Handler("GET", "/ping", h)', "/ping"),
        ('handle("GET /healthz", "/healthz", ok)', "/healthz"),
    ],
)
def test_health_path_registrations_and_prefixes(source, path):
    guess = detect.guess_health_path({"main.go": source})
    assert (guess.value if guess else None) == path
    if guess and path and path.count("/") > 1:
        assert "under the prefix" in guess.evidence


def test_merge_gitattributes_appends_only_missing_rules():
    assert merge_gitattributes(render_gitattributes()) == render_gitattributes()
    merged = merge_gitattributes("*.png binary\r\nDockerfile  text  eol=lf")
    assert merged.startswith("*.png binary\r\nDockerfile  text  eol=lf\r\n")
    assert "\r\n*.sh text eol=lf\r\n" in merged and merged.count("Dockerfile text eol=lf") == 0


def test_no_listen_port_found_is_a_warning(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/svc\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() { serve(config()) }\n")
    result = run_goship("init", "--yes", "-C", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "warning: no listen port found in ." in result.stderr and "check app.port" in result.stderr
    assert "NOT found in the code" in (tmp_path / "goship.yaml").read_text()
    plan = plan_init(tmp_path, InitOptions(yes=True, port=8087))
    assert not any("listen port" in w for w in plan.warnings) and plan.answers.port == 8087


def test_several_listeners_are_named_in_goship_yaml(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/svc\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text(
        'package main\n\nimport (\n\t"net/http"\n\n\t"github.com/prometheus/client_golang/prometheus/promhttp"\n)\n\n'
        'func main() {\n\tgo http.ListenAndServe(":9090", promhttp.Handler())\n\tmux := http.NewServeMux()\n'
        '\tmux.HandleFunc("/healthz", ok)\n\thttp.ListenAndServe(":8080", mux)\n}\n'
    )
    result = run_goship("init", "--yes", "-C", str(tmp_path))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "goship.yaml").read_text()
    assert "port: 8080" in text and "also listens on 9090 (main.go:10)" in text


@pytest.mark.parametrize("addr,host", [('"127.0.0.1:8085"', "127.0.0.1"), ('"localhost:8085"', "localhost")])
def test_loopback_listener_warns(tmp_path, addr, host):
    go_module(tmp_path, {"main.go": MAIN_LISTENING % addr})
    plan = plan_init(tmp_path, InitOptions(yes=True))
    assert plan.answers.port == 8085
    assert any(
        f"listens on {host} only: unreachable from outside the container; listen on :8085 or 0.0.0.0:8085" in w
        for w in plan.warnings
    ), plan.warnings


def test_all_interfaces_listener_does_not_warn(tmp_path):
    go_module(tmp_path, {"main.go": MAIN_LISTENING % '"0.0.0.0:8085"'})
    assert not any("only" in w for w in plan_init(tmp_path, InitOptions(yes=True)).warnings)


def test_app_port_variable_notes_that_goship_sets_port(tmp_path):
    source = (
        'package main\n\nimport (\n\t"net/http"\n\t"os"\n)\n\nfunc main() {\n\tport := os.Getenv("APP_PORT")\n'
        '\tif port == "" {\n\t\tport = "9001"\n\t}\n\thttp.HandleFunc("/healthz", nil)\n'
        '\thttp.ListenAndServe(":"+port, nil)\n}\n'
    )
    go_module(tmp_path, {"main.go": source})
    plan = plan_init(tmp_path, InitOptions(yes=True))
    assert plan.answers.port == 9001
    assert any("goship sets PORT (not APP_PORT) to app.port" in n for n in plan.notes), plan.notes
