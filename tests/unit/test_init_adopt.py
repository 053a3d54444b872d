"""goship init on services shaped like real ones (tests/fixtures/projects, ADOPTED):
a listener in another package, a required flag or variable, a parameterised
health route, none at all, a kept Dockerfile copying prebuilt binaries; and the
pure parts behind it: settings, wildcard routes, port defaults, COPY sources."""

from __future__ import annotations

import subprocess

import pytest

from goship.commands.init.files import InitAnswers, render_goship_yaml
from goship.commands.init.needed import blocked_exclusions, dockerfile_needs
from goship.config import load_config, parse_config
from goship.dockerfiles.parse import context_sources, parse_dockerfile
from goship.golang import detect
from goship.golang.routes import guess_health_path
from goship.golang.settings import Setting, find_settings
from tests.conftest import run_goship
from tests.projects import ADOPTED, apply_edit, copy_fixture


@pytest.mark.parametrize("name", sorted(ADOPTED))
def test_init_adopts_the_service_with_at_most_one_edit(name, tmp_path):
    adopted = ADOPTED[name]
    root = copy_fixture(name, tmp_path)
    result = run_goship("init", "--yes", "-C", str(root))
    assert result.returncode == 0, result.stderr
    config = load_config(root / "goship.yaml")
    assert (config.service, config.app.port) == (adopted.service, adopted.port)
    assert (config.health.type, config.health.path) == (adopted.health_type, adopted.health_path)
    if adopted.edit is not None:
        before, _ = adopted.edit
        number = next(i for i, line in enumerate((root / "goship.yaml").read_text().splitlines(), 1) if before in line)
        # The output names the line to edit.
        assert f"goship.yaml line {number}" in result.stderr, result.stderr
        apply_edit(root, adopted)
        edited = load_config(root / "goship.yaml")
        # The value filled in reaches the service's flags or environment.
        assert (edited.app.args, edited.app.env) != (config.app.args, config.app.env)
    else:
        assert "exits without" not in result.stderr
    built = run_goship("build", "-C", str(root))
    assert built.returncode == 0, built.stderr


def test_required_flag_and_variable_reach_goship_yaml_as_values_to_fill_in():
    settings = (
        Setting("flag", "text", "string", "", "main.go:4", "main.go:11"),
        Setting("env", "GREETING", "", None, "main.go:14", "main.go:15"),
        Setting("env", "API_TOKEN", "", None, "main.go:20", "main.go:21"),
        Setting("flag", "listen", "string", ":5678", "main.go:5"),
        Setting("flag", "workers", "int", "4", "main.go:6"),
    )
    text = render_goship_yaml(InitAnswers("svc", ".", 5678, "/health", settings=settings))
    config = parse_config(text)
    assert config.app.args == ["-text="]
    assert config.app.env == {"GREETING": ""}
    assert config.app.secrets == ["API_TOKEN"]  # a secret's value never goes into goship.yaml
    assert '#   -listen string (default ":5678")  main.go:5' in text
    assert "#   -workers int (default 4)  main.go:6" in text


def test_no_health_route_writes_no_invented_path():
    answers = render_goship_yaml(InitAnswers("svc", ".", 8080, "/", health_found=False, health_type="answers"))
    assert (parse_config(answers).health.type, parse_config(answers).health.path) == ("answers", "/")
    assert "/healthz" not in answers
    tcp = render_goship_yaml(InitAnswers("svc", ".", 7000, "/", health_found=False, health_type="tcp"))
    assert parse_config(tcp).health.type == "tcp"


def test_a_service_without_http_gets_a_tcp_health_check(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/echo\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text(
        'package main\n\nimport (\n\t"io"\n\t"net"\n)\n\nfunc main() {\n\tl, _ := net.Listen("tcp", ":7000")\n'
        "\tfor {\n\t\tc, _ := l.Accept()\n\t\tgo io.Copy(c, c)\n\t}\n}\n"
    )
    result = run_goship("init", "--yes", "-C", str(tmp_path))
    assert result.returncode == 0, result.stderr
    config = load_config(tmp_path / "goship.yaml")
    assert (config.app.port, config.health.type) == (7000, "tcp")
    assert "imports no HTTP package" in result.stdout + result.stderr


SETTINGS_SOURCE = """package main
import ("flag"; "log"; "os"; "github.com/caarlos0/env/v11")
var (
	text = flag.String("text", "", "text to put on the webpage")
	addr = flag.String("listen", ":5678", "address and port to listen")
	verbose = flag.Bool("v", false, "verbose")
	timeout = flag.Duration("timeout", 5*time.Second, "")
	name = flag.String("name", "world", "")
)
func main() {
	flag.Parse()
	if *text == "" || *name == "" {
		log.Fatal("-text is required")
	}
	greeting := os.Getenv("GREETING")
	if greeting == "" {
		fmt.Fprintln(os.Stderr, "GREETING must be set")
		os.Exit(1)
	}
	level := os.Getenv("LOG_LEVEL")
	if level == "" {
		level = "info"
	}
	if os.Getenv("API_TOKEN") == "" { panic("no token") }
	db, ok := os.LookupEnv("DATABASE_URL")
	if !ok { log.Fatalf("DATABASE_URL") }
	optional := os.Getenv("OPTIONAL")
	if optional == "" {
		log.Print("OPTIONAL not set, carrying on")
	}
	port := getenv("PORT", "8080")
	svc := mustEnv("SERVICE_NAME")
	region := envOr("REGION", "eu")
	var cfg struct { Host string `env:"HOST,required"`; Mode string `env:"MODE" envDefault:"prod"` }
	rootCmd.Flags().StringVarP(&cfgFile, "config", "c", "", "config file")
	rootCmd.MarkFlagRequired("config")
	fs := flag.NewFlagSet("x", flag.ExitOnError)
	n := fs.Int("workers", 4, "")
	s := b.String()
	os.Setenv("FOO", "1")
	log.Println(os.Getenv("TRACE"))
}
"""


def test_find_settings_required_and_optional():
    found = {(s.kind, s.name): s for s in find_settings({"main.go": SETTINGS_SOURCE})}
    required = {key for key, s in found.items() if s.required}
    assert required == {
        ("flag", "text"), ("flag", "config"), ("env", "GREETING"), ("env", "API_TOKEN"),
        ("env", "DATABASE_URL"), ("env", "SERVICE_NAME"), ("env", "HOST"),
    }
    # A default satisfies the check; logging and carrying on is not an exit.
    assert not found[("flag", "name")].required and not found[("env", "OPTIONAL")].required
    assert found[("flag", "text")].required == "main.go:12"
    assert (found[("flag", "timeout")].default, found[("flag", "workers")].default) == ("5s", "4")
    assert (found[("env", "LOG_LEVEL")].default, found[("env", "REGION")].default) == ("info", "eu")
    assert found[("env", "MODE")].default == "prod" and ("env", "TRACE") in found
    assert ("env", "PORT") not in found and ("env", "FOO") not in found  # goship sets PORT; Setenv is a write
    order = [s.required != "" for s in find_settings({"main.go": SETTINGS_SOURCE})]
    assert order == sorted(order, reverse=True)  # required first


@pytest.mark.parametrize(
    ("source", "path"),
    [
        ('mux.HandleFunc("GET /status/{code}", h)', "/status/200"),
        ('r.HandleFunc("/status/{code:[0-9]+}", h)', "/status/200"),  # gorilla/mux
        ('r.GET("/status/:code", h)', "/status/200"),  # gin, echo, fiber
        ('r.Get("/health/{$}", h)', "/health"),
        ('mux.HandleFunc("GET /users/{id}", h)\nmux.HandleFunc("/{path...}", h)', None),
        ('mux.HandleFunc("GET /status/{code}", h)\nmux.HandleFunc("/ping", h)', "/ping"),  # a real health route wins
        ('api := r.Group("/api")\napi.GET("/livez", h)', "/api/livez"),
        ('e.GET("/files/*", h)', None),
    ],
)
def test_wildcard_routes(source, path):
    guess = guess_health_path({"main.go": source})
    assert (guess.value if guess else None) == path


@pytest.mark.parametrize(
    ("files", "port"),
    [
        ({"config.go": 'func Port() string {\n\tif p := os.Getenv("PORT"); p != "" {\n\t\treturn p\n\t}\n\treturn "3000"\n}\n'}, "3000"),
        ({"a.go": 'func Addr() string {\n\tif v, ok := os.LookupEnv("PORT"); ok {\n\t\treturn ":" + v\n\t}\n\treturn ":5000"\n}\n'}, "5000"),
        ({"a.go": 'const defaultPort = "7007"\nfunc main() {\n\tport := os.Getenv("PORT")\n\tif port == "" {\n\t\tport = defaultPort\n\t}\n}\n'}, "7007"),
        ({"a.go": 'var h = flag.String("http", "localhost:7001", "addr")\n'}, "7001"),
        ({"a.go": 'flag.StringVar(&cfg.Bind, "bind", "0.0.0.0:7002", "addr")\n'}, "7002"),
        ({"a.go": 'flag.UintVar(&port, "port", 7003, "port")\n'}, "7003"),
        ({"a.go": 'cmd.Flags().StringVarP(&addr, "addr", "a", ":7004", "listen address")\n'}, "7004"),
        ({"a.go": 'rootCmd.PersistentFlags().IntVar(&port, "port", 7005, "")\n'}, "7005"),
        ({"a.go": 'flag.String("metrics-addr", ":9090", "")\n'}, None),  # not the service's own port
    ],
)
def test_port_defaults_in_more_shapes(files, port):
    guess = detect.guess_port(files)
    assert (guess.value if guess else None) == port


KEPT = """# escape=\\
ARG APP=keptdist
FROM scratch
ARG TARGETOS
ARG TARGETARCH
COPY dist/$TARGETOS/$TARGETARCH/${APP} /app
COPY --chown=1:1 config/*.yaml /config/
COPY ["static", "/static"]
COPY . /src
ADD https://example.com/x /x
COPY --from=build /app /app
COPY <<EOF /etc/motd
hi
EOF
"""


def test_copy_sources_and_what_init_keeps_in_the_context():
    sources = [(s.instruction.line, s.path) for s in context_sources(parse_dockerfile(KEPT))]
    assert sources == [(6, "dist"), (7, "config"), (8, "static"), (9, "")]
    needs = dockerfile_needs(KEPT)
    assert "dist" in needs and "Dockerfile:6" in needs["dist"]
    assert blocked_exclusions(["bin", "dist", "**/*.exe"], needs) == {"dist": needs["dist"]}
    assert dockerfile_needs("FROM") == {}  # unparseable: lint's job, not init's


def test_init_keeps_what_a_kept_dockerfile_copies_and_lint_flags_an_exclusion(tmp_path):
    root = copy_fixture("kept-dist", tmp_path)
    assert run_goship("init", "--yes", "-C", str(root)).returncode == 0
    ignore = (root / ".dockerignore").read_text()
    assert "dist" not in [line.strip() for line in ignore.splitlines()]
    assert "#   dist: read by COPY dist/$TARGETOS/$TARGETARCH/keptdist in Dockerfile:5" in ignore
    clean = run_goship("lint", "--no-hadolint", "-C", str(root))
    assert "GS118" not in clean.stdout, clean.stdout

    (root / ".dockerignore").write_text(ignore + "dist\n")
    number = len((ignore + "dist\n").splitlines())
    flagged = run_goship("lint", "--no-hadolint", "-C", str(root))
    assert flagged.returncode != 0
    assert (
        f"Dockerfile:5: error GS118 COPY dist/$TARGETOS/$TARGETARCH/keptdist reads dist, which "
        f".dockerignore:{number} ('dist') leaves out of the build context"
    ) in flagged.stdout
    # An exception after it puts the path back.
    (root / ".dockerignore").write_text(ignore + "dist\n!dist\n")
    assert "GS118" not in run_goship("lint", "--no-hadolint", "-C", str(root)).stdout


def test_init_warns_when_git_would_ignore_a_file_it_writes(tmp_path):
    root = copy_fixture("kept-dist", tmp_path)  # its .gitignore: dist/, .*, !.gitignore
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    result = run_goship("init", "--yes", "-C", str(root))
    assert result.returncode == 0, result.stderr
    assert "warning: .gitattributes is ignored by git (.gitignore:2: '.*')" in result.stderr
    assert "add '!.gitattributes' to your .gitignore" in result.stderr
    assert "goship.yaml is ignored" not in result.stderr

    plain = copy_fixture("needs-env", tmp_path / "plain")  # no repository: nothing to say
    assert "ignored by git" not in run_goship("init", "--yes", "-C", str(plain)).stderr
