"""The sources of a new service (``goship init --new NAME``): standard library only.

main.go serves /, /healthz (or --health-path), /readyz and /metrics (Prometheus text format:
request count and latency histogram by route, method and status), logs JSON
with log/slog, and shuts down gracefully on SIGTERM; main_test.go checks
the endpoints with httptest. The texts are constants so a unit test can run
``go vet`` and ``go test`` on exactly what users get.
"""

from __future__ import annotations

GO_MOD = """module {module}

go {go_version}
"""

MAIN_GO = r'''// Command {name} is an HTTP service scaffolded by 'goship init --new'.
//
// It uses only the standard library: JSON logs (log/slog), health and
// readiness endpoints for the deploy health gate, Prometheus metrics, and
// a graceful shutdown so a deploy drops no request.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {{
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	// goship sets PORT to app.port from goship.yaml; {port} for go run.
	port := os.Getenv("PORT")
	if port == "" {{
		port = "{port}"
	}}
	if err := run(logger, ":"+port); err != nil {{
		logger.Error("server failed", "error", err)
		os.Exit(1)
	}}
}}

// run serves until SIGTERM or SIGINT, then finishes in-flight requests.
func run(logger *slog.Logger, addr string) error {{
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	app := newApp(logger)
	server := &http.Server{{
		Addr:              addr,
		Handler:           app.routes(),
		ReadHeaderTimeout: 5 * time.Second,
	}}
	serveErr := make(chan error, 1)
	go func() {{
		logger.Info("listening", "addr", addr)
		serveErr <- server.ListenAndServe()
	}}()

	select {{
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}}
	// Report not-ready first so a proxy stops sending new requests, then
	// give in-flight ones time to finish (less than the stop timeout).
	app.ready.Store(false)
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {{
		return fmt.Errorf("shutdown: %w", err)
	}}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {{
		return err
	}}
	logger.Info("stopped")
	return nil
}}

type app struct {{
	logger  *slog.Logger
	metrics *metrics
	ready   atomic.Bool
}}

func newApp(logger *slog.Logger) *app {{
	a := &app{{logger: logger, metrics: newMetrics()}}
	a.ready.Store(true)
	return a
}}

func (a *app) routes() http.Handler {{
	mux := http.NewServeMux()
	// route is the metrics label: the pattern without its method and wildcards.
	handle := func(pattern, route string, h http.HandlerFunc) {{
		mux.Handle(pattern, a.instrument(route, h))
	}}
	handle("GET /{{$}}", "/", func(w http.ResponseWriter, r *http.Request) {{
		fmt.Fprintln(w, "Hello from {name}!")
	}})
	// Liveness: the process is up.
	handle("GET {liveness}", "{liveness}", func(w http.ResponseWriter, r *http.Request) {{
		fmt.Fprintln(w, "ok")
	}})
	// Readiness: the process wants traffic (false while shutting down).
	handle("GET /readyz", "/readyz", func(w http.ResponseWriter, r *http.Request) {{
		if !a.ready.Load() {{
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}}
		fmt.Fprintln(w, "ready")
	}})
	handle("GET /metrics", "/metrics", a.metrics.serve)
	// Everything else, counted under one route so unknown paths cannot
	// create unbounded metric series.
	mux.Handle("/", a.instrument("other", http.HandlerFunc(http.NotFound)))
	return mux
}}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {{
	http.ResponseWriter
	status int
}}

func (s *statusRecorder) WriteHeader(code int) {{
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}}

// instrument records each request's count and duration, and logs it.
func (a *app) instrument(route string, next http.Handler) http.Handler {{
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {{
		start := time.Now()
		rec := &statusRecorder{{ResponseWriter: w, status: http.StatusOK}}
		next.ServeHTTP(rec, r)
		elapsed := time.Since(start)
		a.metrics.observe(route, r.Method, rec.status, elapsed)
		if route != "{liveness}" && route != "/readyz" {{ // probes would drown the log
			a.logger.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"duration_ms", float64(elapsed.Microseconds())/1000)
		}}
	}})
}}

// Latency buckets in seconds (Prometheus client defaults).
var buckets = []float64{{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}}

type seriesKey struct {{
	route, method, status string
}}

type series struct {{
	count   uint64
	sum     float64
	buckets []uint64 // cumulative counts, one per bucket bound
}}

// metrics is a minimal Prometheus registry: a request counter and a latency
// histogram, both labelled by route, method and status.
type metrics struct {{
	mu     sync.Mutex
	series map[seriesKey]*series
}}

func newMetrics() *metrics {{
	return &metrics{{series: map[seriesKey]*series{{}}}}
}}

func (m *metrics) observe(route, method string, status int, elapsed time.Duration) {{
	switch method {{
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
	default:
		method = "other" // arbitrary methods must not create series
	}}
	key := seriesKey{{route, method, strconv.Itoa(status)}}
	seconds := elapsed.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.series[key]
	if s == nil {{
		s = &series{{buckets: make([]uint64, len(buckets))}}
		m.series[key] = s
	}}
	s.count++
	s.sum += seconds
	for i, bound := range buckets {{
		if seconds <= bound {{
			s.buckets[i]++
		}}
	}}
}}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// serve writes the Prometheus text exposition format (version 0.0.4).
func (m *metrics) serve(w http.ResponseWriter, r *http.Request) {{
	m.mu.Lock()
	keys := make([]seriesKey, 0, len(m.series))
	for k := range m.series {{
		keys = append(keys, k)
	}}
	sort.Slice(keys, func(i, j int) bool {{
		a, b := keys[i], keys[j]
		if a.route != b.route {{
			return a.route < b.route
		}}
		if a.method != b.method {{
			return a.method < b.method
		}}
		return a.status < b.status
	}})
	var out strings.Builder
	out.WriteString("# HELP http_requests_total HTTP requests served, by route, method and status.\n")
	out.WriteString("# TYPE http_requests_total counter\n")
	for _, k := range keys {{
		fmt.Fprintf(&out, "http_requests_total{{%s}} %d\n", labels(k), m.series[k].count)
	}}
	out.WriteString("# HELP http_request_duration_seconds HTTP request latency, by route, method and status.\n")
	out.WriteString("# TYPE http_request_duration_seconds histogram\n")
	for _, k := range keys {{
		s := m.series[k]
		for i, bound := range buckets {{
			fmt.Fprintf(&out, "http_request_duration_seconds_bucket{{%s,le=%q}} %d\n",
				labels(k), strconv.FormatFloat(bound, 'g', -1, 64), s.buckets[i])
		}}
		fmt.Fprintf(&out, "http_request_duration_seconds_bucket{{%s,le=\"+Inf\"}} %d\n", labels(k), s.count)
		fmt.Fprintf(&out, "http_request_duration_seconds_sum{{%s}} %s\n", labels(k),
			strconv.FormatFloat(s.sum, 'g', -1, 64))
		fmt.Fprintf(&out, "http_request_duration_seconds_count{{%s}} %d\n", labels(k), s.count)
	}}
	m.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write([]byte(out.String()))
}}

func labels(k seriesKey) string {{
	return fmt.Sprintf(`route="%s",method="%s",status="%s"`,
		labelEscaper.Replace(k.route), labelEscaper.Replace(k.method), labelEscaper.Replace(k.status))
}}
'''

MAIN_TEST_GO = r'''package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (int, string) {{
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {{
		t.Fatal(err)
	}}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {{
		t.Fatal(err)
	}}
	return resp.StatusCode, string(body)
}}

func TestEndpoints(t *testing.T) {{
	app := newApp(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	server := httptest.NewServer(app.routes())
	defer server.Close()

	if status, _ := get(t, server.URL+"{liveness}"); status != http.StatusOK {{
		t.Fatalf("%s: status %d, want 200", "{liveness}", status)
	}}
	if status, _ := get(t, server.URL+"/readyz"); status != http.StatusOK {{
		t.Fatalf("/readyz: status %d, want 200", status)
	}}
	if status, _ := get(t, server.URL+"/no-such-page"); status != http.StatusNotFound {{
		t.Fatalf("/no-such-page: status %d, want 404", status)
	}}

	status, body := get(t, server.URL+"/metrics")
	if status != http.StatusOK {{
		t.Fatalf("/metrics: status %d, want 200", status)
	}}
	for _, want := range []string{{
		"# TYPE http_requests_total counter",
		`http_requests_total{{route="{liveness}",method="GET",status="200"}} 1`,
		`http_requests_total{{route="other",method="GET",status="404"}} 1`,
		"# TYPE http_request_duration_seconds histogram",
		`http_request_duration_seconds_bucket{{route="{liveness}",method="GET",status="200",le="+Inf"}} 1`,
		`http_request_duration_seconds_count{{route="{liveness}",method="GET",status="200"}} 1`,
	}} {{
		if !strings.Contains(body, want) {{
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}}
	}}
}}

func TestNotReadyWhileShuttingDown(t *testing.T) {{
	app := newApp(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	app.ready.Store(false)
	server := httptest.NewServer(app.routes())
	defer server.Close()
	if status, _ := get(t, server.URL+"/readyz"); status != http.StatusServiceUnavailable {{
		t.Fatalf("/readyz: status %d, want 503", status)
	}}
}}
'''


#: Paths the scaffold serves anyway: a health check there needs no route of its own.
_SERVED = ("/", "/readyz", "/metrics")
#: The first Go release whose net/http routes by method ("GET /healthz").
MIN_GO = "1.22"


def liveness_path(health_path: str) -> str:
    """The liveness route main.go registers: the health check's path unless the
    service serves that path already (/readyz, /metrics, /)."""
    path = health_path.rstrip("/") or "/"
    return "/healthz" if path in _SERVED else health_path


def render_new_service(
    name: str, module: str, go_version: str, port: int = 8080, health_path: str = "/healthz"
) -> dict[str, str]:
    """{file name: content} of a new service's Go sources, listening on ``port``
    by default and answering ``health_path``."""
    liveness = liveness_path(health_path)
    return {
        "go.mod": GO_MOD.format(module=module, go_version=go_version),
        "main.go": MAIN_GO.format(name=name, port=port, liveness=liveness),
        "main_test.go": MAIN_TEST_GO.format(liveness=liveness),
    }
