"""goship init on services shaped like real ones, as issue 17 found them: a port flag
defaulting to a constant (here, typed, in another file, a string), the struct-tag
option libraries (go-flags, kong, envconfig, caarlos0/env) read only when imported,
pflag/cobra flag sets, a listen address set in another package, and TLS flags
needed only as a pair. Each fixture is a small Go source written here."""

from __future__ import annotations

import pytest

from goship.commands.init.init import InitOptions, plan_init
from goship.config import parse_config
from goship.golang import detect
from goship.golang.settings import Setting, find_settings
from tests.conftest import run_goship
from tests.unit.helpers import go_module, planned

IMPORTS = {
    "go-flags": '"github.com/jessevdk/go-flags"',
    "kong": '"github.com/alecthomas/kong"',
    "envconfig": '"github.com/kelseyhightower/envconfig"',
    "env": '"github.com/caarlos0/env/v11"',
}


def _go(body: str, *imports: str) -> str:
    lines = "\n".join(f"\t{i}" for i in ('"flag"', '"net/http"', *imports))
    return f"package main\n\nimport (\n{lines}\n)\n\n{body}\n"


def _by_name(sources: dict[str, str]) -> dict[str, Setting]:
    return {s.name: s for s in find_settings(sources)}


# --- a port flag whose default is a named constant ------------------------------------------------

SERVE_PORT = 'func main() {\n\tflag.Parse()\n\thttp.ListenAndServe(fmt.Sprintf(":%d", *port), nil)\n}\n'


@pytest.mark.parametrize(
    ("files", "port", "default"),
    [
        ({"main.go": _go('const defaultPort = 8123\n\nvar port = flag.Int("port", defaultPort, "port")\n' + SERVE_PORT)},
         "8123", "8123"),
        ({"main.go": _go('const defaultPort int = 8124\n\nvar port = flag.Int("port", defaultPort, "port")\n' + SERVE_PORT)},
         "8124", "8124"),
        ({"main.go": _go('const (\n\tdefaultPort uint = 8125\n\tname = "x"\n)\n\nvar port = flag.Uint("port", defaultPort, "")\n' + SERVE_PORT)},
         "8125", "8125"),
        # the constant in another file of the package
        ({"main.go": _go('var port = flag.Int("port", defaultPort, "port")\n' + SERVE_PORT),
          "defaults.go": "package main\n\nconst defaultPort = 8126\n"}, "8126", "8126"),
        # a string constant holding the address
        ({"main.go": _go('const defaultAddr = ":8127"\n\nfunc main() {\n\taddr := flag.String("addr", defaultAddr, "")\n'
                         '\tflag.Parse()\n\thttp.ListenAndServe(*addr, nil)\n}\n')}, "8127", ":8127"),
        # a bound variable, the constant in another file, no listen call to follow
        ({"main.go": _go('var listen string\n\nfunc main() {\n\tflag.StringVar(&listen, "listen", defaultListen, "")\n'
                         '\tflag.Parse()\n\tserve(listen)\n}\n'),
          "consts.go": 'package main\n\nconst (\n\tdefaultListen = "0.0.0.0:" + defaultPort\n\tdefaultPort = "8128"\n)\n'},
         "8128", "0.0.0.0:8128"),
    ],
)
def test_a_port_flag_defaulting_to_a_constant_is_found(files, port, default):
    guess = detect.guess_port(files)
    assert guess is not None and guess.value == port, guess
    flag = next(s for s in find_settings(files) if s.kind == "flag")
    assert flag.default == default


def test_a_getenv_helper_defaulting_to_a_constant():
    files = {"main.go": _go('func main() {\n\tport := getenv("HTTP_PORT", defaultPort)\n\t_ = port\n}\n'),
             "c.go": 'package main\n\nconst defaultPort = "8129"\n'}
    guess = detect.guess_port(files)
    assert guess is not None and guess.value == "8129" and "HTTP_PORT variable" in guess.evidence


# --- struct-tag option libraries -------------------------------------------------------------------

GO_FLAGS = """type Options struct {
	Listen  string `long:"listen" env:"LISTEN" default:"localhost:8080" required:"true" description:"address"`
	Token   string `long:"token" env:"TOKEN" required:"true"`
	Verbose bool   `short:"v" long:"verbose"`
	Workers int    `long:"workers" default:"4"`
}

func main() {
	var opts Options
	if _, err := flags.Parse(&opts); err != nil {
		os.Exit(1)
	}
	http.ListenAndServe(opts.Listen, nil)
}
"""

KONG = """var CLI struct {
	Port       int    `help:"Port to listen on." env:"APP_PORT" default:"8090"`
	ListenHost string `help:"Interface." default:"127.0.0.1"`
	DSN        string `name:"dsn" required:"" help:"Database."`
	Serve      struct{} `cmd:"" help:"Serve."`
}

func main() {
	kong.Parse(&CLI)
	http.ListenAndServe(fmt.Sprintf("%s:%d", CLI.ListenHost, CLI.Port), nil)
}
"""

ENVCONFIG = """type Spec struct {
	Port     int    `envconfig:"PORT" default:"8091"`
	Addr     string `split_words:"true" default:"localhost:8091"`
	Database string `required:"true"`
	Debug    bool
}

func main() {
	var s Spec
	envconfig.MustProcess("myapp", &s)
}
"""

CAARLOS = """type DB struct {
	Host string `env:"HOST" envDefault:"db"`
}

type Config struct {
	HTTPAddr string `env:"HTTP_ADDR" envDefault:":8092"`
	Secret   string `env:"SECRET,required"`
	Name     string `env:"NAME,notEmpty" envDefault:"svc"`
	Database DB     `envPrefix:"DB_"`
}

func main() {
	var cfg Config
	_ = env.ParseWithOptions(&cfg, env.Options{Prefix: "SHOP_"})
}
"""


def test_go_flags_options():
    found = _by_name({"main.go": _go(GO_FLAGS, IMPORTS["go-flags"])})
    listen = found["listen"]
    assert (listen.kind, listen.label, listen.env, listen.default) == ("flag", "--listen", ("LISTEN",), "localhost:8080")
    assert not listen.required  # required, but its default satisfies it
    assert found["token"].required == "main.go:11" and found["token"].env == ("TOKEN",)
    assert found["workers"].default == "4" and found["verbose"].type == "bool"
    guess = detect.guess_port({"main.go": _go(GO_FLAGS, IMPORTS["go-flags"])})
    assert guess is not None and guess.value == "8080"


def test_kong_flags_named_from_the_field():
    found = _by_name({"main.go": _go(KONG, IMPORTS["kong"])})
    assert (found["port"].label, found["port"].env, found["port"].default) == ("--port", ("APP_PORT",), "8090")
    assert found["listen-host"].default == "127.0.0.1"
    assert found["dsn"].required and "serve" not in found  # a command is no flag
    guess = detect.guess_port({"main.go": _go(KONG, IMPORTS["kong"])})
    assert guess is not None and guess.value == "8090" and "APP_PORT" in guess.evidence


def test_envconfig_names_with_the_prefix():
    found = _by_name({"main.go": _go(ENVCONFIG, IMPORTS["envconfig"])})
    # envconfig reads MYAPP_PORT, then PORT (the tag): goship's PORT reaches it.
    assert (found["MYAPP_PORT"].env, found["MYAPP_PORT"].default) == (("PORT",), "8091")
    assert found["MYAPP_ADDR"].default == "localhost:8091"
    assert found["MYAPP_DATABASE"].required and "MYAPP_DEBUG" not in found  # no tag: not guessed
    guess = detect.guess_port({"main.go": _go(ENVCONFIG, IMPORTS["envconfig"])})
    assert guess is not None and guess.value == "8091"


def test_caarlos0_env_prefixes_and_options():
    found = _by_name({"main.go": _go(CAARLOS, IMPORTS["env"])})
    assert found["SHOP_HTTP_ADDR"].default == ":8092"
    assert found["SHOP_SECRET"].required and not found["SHOP_NAME"].required  # its default satisfies notEmpty
    assert found["SHOP_DB_HOST"].default == "db"
    guess = detect.guess_port({"main.go": _go(CAARLOS, IMPORTS["env"])})
    assert guess is not None and guess.value == "8092" and "SHOP_HTTP_ADDR" in guess.evidence


@pytest.mark.parametrize("source", [GO_FLAGS, KONG, ENVCONFIG, CAARLOS])
def test_struct_tags_without_the_library_imported_are_nobodys(source):
    sources = {"main.go": _go(source, '"os"')}
    assert find_settings(sources) == [] and detect.guess_port(sources) is None


def test_pflag_and_cobra_flag_sets():
    source = _go(
        'func main() {\n\tcmd := &cobra.Command{Use: "svc"}\n\tf := cmd.Flags()\n'
        '\tf.StringVar(&listen, "listen", defaultListen, "listen address")\n'
        '\tf.IntVarP(&workers, "workers", "w", 2, "")\n'
        '\tfs := flag.NewFlagSet("svc", flag.ExitOnError)\n\tfs.String("mode", "fast", "")\n}\n'
        'const defaultListen = "127.0.0.1:8093"\n',
        '"github.com/spf13/cobra"',
    )
    found = _by_name({"main.go": source})
    assert (found["listen"].label, found["listen"].default) == ("--listen", "127.0.0.1:8093")
    assert found["workers"].label == "--workers" and found["mode"].label == "-mode"
    aliased = 'package main\n\nimport flag "github.com/spf13/pflag"\n\nvar p = flag.Int("port", 8094, "")\n'
    assert _by_name({"main.go": aliased})["port"].label == "--port"


# --- a listen address set in another package -------------------------------------------------------

MODULE_MAIN = """package main

import (
	"net/http"

	"example.com/app/internal/config"
)

func main() {
%s
}
"""


@pytest.mark.parametrize(
    ("main", "config"),
    [
        ('\taddr := flag.String("addr", config.DefaultAddr, "listen address")\n\tflag.Parse()\n'
         "\thttp.ListenAndServe(*addr, mux)",
         'package config\n\nconst DefaultAddr = ":9090"\n'),
        ("\tcfg := config.Load()\n\tsrv := &http.Server{Addr: cfg.Addr, Handler: mux}\n\tsrv.ListenAndServe()",
         'package config\n\ntype Config struct{ Addr string }\n\nfunc Load() Config {\n\treturn Config{Addr: ":9090"}\n}\n'),
        ("\tcfg := config.Load()\n\thttp.ListenAndServe(cfg.Addr, mux)",
         'package config\n\nimport "flag"\n\nfunc Load() (c Config) {\n\tflag.StringVar(&c.Addr, "addr", ":9090", "")\n'
         "\tflag.Parse()\n\treturn c\n}\n"),
        ("\tvar cfg config.Config\n\tenv.Parse(&cfg)\n\thttp.ListenAndServe(cfg.Addr, mux)",
         'package config\n\nimport _ "github.com/caarlos0/env/v11"\n\ntype Config struct {\n'
         '\tAddr string `env:"LISTEN_ADDR" envDefault:":9090"`\n}\n'),
        ("\thttp.ListenAndServe(config.Listen, mux)",
         'package config\n\nvar (\n\tHost   = ""\n\tListen = Host + ":9090"\n)\n'),
    ],
)
def test_a_listen_address_set_in_another_package(main, config):
    sources = {"cmd/app/main.go": MODULE_MAIN % main, "internal/config/config.go": config}
    guess = detect.guess_port(sources)
    assert guess is not None and guess.value == "9090", guess


def test_another_files_local_variable_is_not_followed():
    sources = {
        "main.go": 'package main\n\nfunc serve(addr string) {\n\thttp.ListenAndServe(addr, mux)\n}\n',
        "redis.go": 'package main\n\nfunc cache() {\n\taddr := "localhost:6379"\n\t_ = addr\n}\n',
    }
    assert detect.guess_port(sources) is None


# --- flags required only as a pair ---------------------------------------------------------------

PAIRS = {
    "nested": '\tif *cert != "" || *key != "" {\n\t\tif *cert == "" || *key == "" {\n'
              '\t\t\tlog.Fatal("-tls-cert and -tls-key go together")\n\t\t}\n\t}\n',
    "under a switch": '\tif *useTLS {\n\t\tif *cert == "" {\n\t\t\tlog.Fatal("need a cert")\n\t\t}\n'
                      '\t\tif *key == "" {\n\t\t\tlog.Fatal("need a key")\n\t\t}\n'
                      '\t\tlog.Fatal(http.ListenAndServeTLS(":8443", *cert, *key, nil))\n\t}\n',
    "xor": '\tif (*cert == "") != (*key == "") {\n\t\tlog.Fatal("both or neither")\n\t}\n',
    "together in ListenAndServeTLS": '\tif *cert != "" && *key != "" {\n'
                                     '\t\tlog.Fatal(http.ListenAndServeTLS(":8443", *cert, *key, nil))\n\t}\n',
}


@pytest.mark.parametrize("check", sorted(PAIRS))
def test_tls_flags_needed_only_as_a_pair_are_not_required(check):
    source = _go(
        'var (\n\tcert = flag.String("tls-cert", "", "TLS certificate")\n\tkey = flag.String("tls-key", "", "TLS key")\n'
        '\tuseTLS = flag.Bool("tls", false, "serve TLS")\n)\n\nfunc main() {\n\tflag.Parse()\n'
        + PAIRS[check] + '\thttp.ListenAndServe(":8080", nil)\n}\n'
    )
    found = _by_name({"main.go": source})
    assert not found["tls-cert"].required and not found["tls-key"].required


def test_help_text_pairing_two_flags_makes_neither_required():
    source = _go(
        'var (\n\tcert = flag.String("cert", "", "certificate file (both -cert and -key, or neither)")\n'
        '\tkey = flag.String("key", "", "key file; requires -cert")\n)\n\nfunc main() {\n\tflag.Parse()\n'
        '\tif *cert == "" || *key == "" {\n\t\tlog.Fatal("no TLS")\n\t}\n}\n'
    )
    found = _by_name({"main.go": source})
    assert not found["cert"].required and not found["key"].required


def test_an_unconditional_check_still_makes_a_flag_required():
    source = _go('var text = flag.String("text", "", "")\n\nfunc main() {\n\tflag.Parse()\n'
                 '\tif *text == "" {\n\t\tlog.Fatal("-text is required")\n\t}\n}\n')
    assert _by_name({"main.go": source})["text"].required == "main.go:12"


# --- what init writes: the loopback fix, the port given, the pair, the config file -----------------

def _plan(tmp_path, files: dict[str, str], **options: object):
    go_module(tmp_path, files)
    plan = plan_init(tmp_path, InitOptions(yes=True, **options))  # type: ignore[arg-type]
    text = planned(plan, "goship.yaml")
    return plan, text, parse_config(text)


def test_a_loopback_default_with_a_variable_is_fixed_in_app_env(tmp_path):
    plan, text, config = _plan(tmp_path, {"main.go": _go(GO_FLAGS, IMPORTS["go-flags"], '"os"')})
    assert config.app.port == 8080 and config.app.env["LISTEN"] == ":8080"
    line = next(line for line in text.splitlines() if "LISTEN:" in line)
    assert "binds loopback only" in line  # the comment says why
    assert any(
        "--listen / $LISTEN defaults to localhost:8080, which listens on loopback only" in w and "LISTEN=:8080 (app.env)" in w
        for w in plan.warnings
    ), plan.warnings
    assert "--token=" in config.app.args[0]  # required, no default: still the user's to fill in


@pytest.mark.parametrize("default", ["127.0.0.1:7070", "localhost:7070", "[::1]:7070"])
def test_a_loopback_flag_default_is_fixed_in_app_args(tmp_path, default):
    source = _go(f'func main() {{\n\taddr := flag.String("addr", "{default}", "listen address")\n\tflag.Parse()\n'
                 '\thttp.HandleFunc("/healthz", ok)\n\thttp.ListenAndServe(*addr, nil)\n}\n')
    plan, text, config = _plan(tmp_path, {"main.go": source})
    assert (config.app.port, config.app.args) == (7070, ["-addr=:7070"])
    assert sum("loopback" in w for w in plan.warnings) == 1, plan.warnings


def test_a_loopback_host_setting_is_bound_to_all_interfaces(tmp_path):
    _, _, config = _plan(tmp_path, {"main.go": _go(KONG, IMPORTS["kong"])})
    assert "--listen-host=0.0.0.0" in config.app.args and config.app.port == 8090


def test_an_all_interfaces_default_is_left_alone(tmp_path):
    source = _go('var addr = flag.String("addr", ":7071", "")\n\nfunc main() {\n\tflag.Parse()\n'
                 '\thttp.ListenAndServe(*addr, nil)\n}\n')
    plan, _, config = _plan(tmp_path, {"main.go": source})
    assert config.app.args == [] and not any("loopback" in w for w in plan.warnings)


REQUIRED_PORT = _go(
    'var port = flag.Int("port", 0, "port to listen on")\n\nfunc main() {\n\tflag.Parse()\n'
    '\tif *port == 0 {\n\t\tlog.Fatal("-port is required")\n\t}\n'
    '\thttp.ListenAndServe(fmt.Sprintf(":%d", *port), nil)\n}\n'
)


def test_a_required_port_flag_gets_the_port_given_to_init(tmp_path):
    plan, text, config = _plan(tmp_path, {"main.go": REQUIRED_PORT}, port=9000)
    assert (config.app.port, config.app.args) == (9000, ["-port=9000"])
    assert "REQUIRED" not in text and not any("exits without" in w for w in plan.warnings)


def test_a_required_port_flag_without_port_given_gets_app_port(tmp_path):
    _, _, config = _plan(tmp_path, {"main.go": REQUIRED_PORT})
    assert config.app.args == [f"-port={config.app.port}"]


def test_a_port_given_to_init_reaches_a_port_flag_with_another_default(tmp_path):
    cobra = _go('func main() {\n\tcmd := &cobra.Command{}\n\tcmd.Flags().IntVar(&port, "port", 8080, "")\n}\n',
                '"github.com/spf13/cobra"')
    _, _, config = _plan(tmp_path, {"main.go": cobra}, port=9001)
    assert config.app.args == ["--port=9001"]


def test_goship_sets_port_so_a_flag_read_from_it_needs_no_value(tmp_path):
    source = """type Options struct {
	Port int `long:"port" env:"PORT" default:"8080"`
}
"""
    _, _, config = _plan(tmp_path, {"main.go": _go(source, IMPORTS["go-flags"])}, port=9002)
    assert config.app.args == [] and config.app.env == {}


def test_tls_pair_is_not_written_as_required(tmp_path):
    source = _go(
        'var (\n\tcert = flag.String("tls-cert", "", "TLS certificate")\n\tkey = flag.String("tls-key", "", "TLS key")\n)\n\n'
        'func main() {\n\tflag.Parse()\n' + PAIRS["nested"] + '\thttp.ListenAndServe(":8080", nil)\n}\n'
    )
    plan, text, config = _plan(tmp_path, {"main.go": source})
    assert config.app.args == [] and "REQUIRED" not in text
    assert '#   -tls-cert string  main.go:' in text  # listed as optional


@pytest.mark.parametrize(
    ("default", "on_disk", "image_path"),
    [
        ("config.yaml", "config.yaml", "/config.yaml"),
        ("./configs/app.toml", "configs/app.toml", "/configs/app.toml"),
        ("/etc/svc/hooks.json", "hooks.json", "/etc/svc/hooks.json"),
    ],
)
def test_a_config_file_default_is_shipped_with_build_files(tmp_path, default, on_disk, image_path):
    source = _go(f'var cfg = flag.String("config", "{default}", "config file")\n\nfunc main() {{\n\tflag.Parse()\n'
                 '\thttp.ListenAndServe(":8080", nil)\n}\n')
    plan, text, config = _plan(tmp_path, {"main.go": source, on_disk: "x: 1\n"})
    assert config.build.files == {image_path: on_disk}
    assert any(f"goship.yaml ships {on_disk} at {image_path} (build.files)" in n for n in plan.notes), plan.notes
    assert f"COPY {on_disk} /out/rootfs{image_path}" in planned(plan, "Dockerfile")


def test_a_config_file_not_in_the_module_is_only_noted(tmp_path):
    source = _go('var cfg = flag.String("config", "settings.yaml", "")\n\nfunc main() {\n\tflag.Parse()\n'
                 '\thttp.ListenAndServe(":8080", nil)\n}\n')
    plan, _, config = _plan(tmp_path, {"main.go": source})
    assert config.build.files == {}
    assert any("settings.yaml" in n and "not in the module" in n for n in plan.notes), plan.notes


def test_an_env_file_default_is_not_shipped(tmp_path):
    source = _go('var envFile = flag.String("env-file", ".env", "")\n\nfunc main() {\n\tflag.Parse()\n'
                 '\thttp.ListenAndServe(":8080", nil)\n}\n')
    plan, _, config = _plan(tmp_path, {"main.go": source, ".env": "TOKEN=x\n"})
    assert config.build.files == {} and any("kept out of the image" in n for n in plan.notes)


def test_init_help_says_what_the_health_path_defaults_to():
    result = run_goship("init", "--help")
    text = " ".join(result.stdout.split())
    assert "else /healthz" not in text
    assert "the health route found in the code; else none" in text and "--new serves /healthz" in text


REPROXY_LIKE = """var opts struct {
	Listen string `short:"l" long:"listen" env:"LISTEN" description:"listen on host:port"`
	Mgmt struct {
		Listen string `long:"listen" env:"LISTEN" default:"0.0.0.0:8081" description:"management API"`
	} `group:"mgmt" namespace:"mgmt" env-namespace:"MGMT"`
	Plugin struct {
		Listen string `long:"listen" env:"LISTEN" default:"127.0.0.1:8082"`
	} `group:"plugin" namespace:"plugin" env-namespace:"PLUGIN"`
}

type Conductor struct{ Address string }

func (c *Conductor) Run() error {
	srv := &http.Server{Addr: c.Address, Handler: c.handler()}
	return srv.ListenAndServe()
}

func main() {
	flags.Parse(&opts)
	c := &Conductor{Address: opts.Plugin.Listen}
	m := &Conductor{Address: opts.Mgmt.Listen}
	_, _ = c, m
}
"""


def test_go_flags_groups_namespace_their_options_and_secondary_listeners_are_not_the_port(tmp_path):
    # A fork of go-flags has the same tags.
    sources = {"main.go": _go(REPROXY_LIKE, '"github.com/example/go-flags"')}
    found = _by_name(sources)
    assert found["mgmt.listen"].env == ("MGMT_LISTEN",) and found["plugin.listen"].env == ("PLUGIN_LISTEN",)
    assert found["listen"].env == ("LISTEN",)
    # The management and plugin listeners are not the service's, and Address is set two ways: no guess.
    assert detect.guess_port(sources) is None
    _, _, config = _plan(tmp_path, sources)
    assert config.app.args == [] and config.app.env == {}  # no loopback "fix" for the plugin listener
