package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/metrics"
	"github.com/ctop-dev/ctop/names"
	"github.com/ctop-dev/ctop/nsinfo"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
)

// serveOptions are ctop serve's settings.
type serveOptions struct {
	listen      string
	allowRemote bool
	interval    time.Duration
	depth       int
	// root is the directory the host's /proc and /sys/fs/cgroup are read
	// under: "/" except in tests.
	root string
	// stateDir holds the sandboxes' state, for their names ("" for the
	// invoking user's default).
	stateDir string
}

// defaultListen is on loopback: metrics tell a lot about a host, so
// serving them to the network is asked for explicitly (--allow-remote).
// 9256 is free in Prometheus's default port allocation list.
const defaultListen = "127.0.0.1:9256"

func newServeCmd() *cobra.Command {
	o := serveOptions{root: "/"}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve cgroup and namespace metrics to Prometheus",
		Long: `serve exports what ctop reads about every cgroup (CPU time and throttling,
memory use, limits and events, IO per device, pids, pressure) and how many
processes run outside the host's namespaces, at /metrics in the Prometheus
exposition format; /healthz answers "ok" while it runs.

One scan of the cgroup tree answers every metric of a scrape, and a scan is
reused by scrapes that come within --interval of it. --cgroup-depth bounds
how many levels below the root are exported, so the number of series stays
bounded on hosts with many containers.

Every cgroup series is labelled with its path (id) and, where known, what
runs in it: name, image, runtime, pod, namespace, container and unit, as
ctop cgroups names them; container engines are asked once per container.

It listens on loopback by default. To let a Prometheus server on another
host scrape it, give a non-loopback --listen address and --allow-remote.
Point Prometheus at it with a scrape job such as:

  scrape_configs:
    - job_name: ctop
      static_configs:
        - targets: ['127.0.0.1:9256']`,
		Example: `  ctop serve
  ctop serve --listen 0.0.0.0:9256 --allow-remote --cgroup-depth 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return runServe(ctx, o, cmd.ErrOrStderr(), nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", defaultListen, "address to serve on, HOST:PORT (port 0 picks a free one)")
	f.BoolVar(&o.allowRemote, "allow-remote", false, "allow a --listen address that is not loopback")
	f.DurationVar(&o.interval, "interval", time.Second, "reuse a reading for scrapes within this long of it (0: read on every scrape)")
	f.IntVar(&o.depth, "cgroup-depth", 4, "export groups at most this many levels below the root (0: all)")
	f.StringVar(&o.stateDir, "state-dir", "", "where the state of running sandboxes is kept, for their names")
	_ = f.MarkHidden("state-dir")
	return cmd
}

// checkListen refuses a listen address that is not on loopback unless
// remote access was allowed.
func checkListen(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: %w (want HOST:PORT, e.g. %s)", addr, err, defaultListen)
	}
	if allowRemote || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	shown := host
	if shown == "" {
		shown = "every interface"
	}
	return fmt.Errorf("--listen %q serves metrics beyond loopback (%s): add --allow-remote to do that on purpose", addr, shown)
}

// runServe serves until ctx is done, then shuts the server down cleanly.
// ready, when not nil, is told the address it listens on.
func runServe(ctx context.Context, o serveOptions, stderr io.Writer, ready func(net.Addr)) error {
	if err := checkListen(o.listen, o.allowRemote); err != nil {
		return err
	}
	if o.interval < 0 {
		return fmt.Errorf("--interval %s: must not be negative", o.interval)
	}
	if o.depth < 0 {
		return fmt.Errorf("--cgroup-depth %d: must not be negative (0 exports every level)", o.depth)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfs, err := cgroup.Open(o.root)
	if err != nil {
		return fmt.Errorf("serve metrics: %w", err)
	}
	nfs, err := nsinfo.Open(o.root)
	if err != nil {
		return fmt.Errorf("serve metrics: %w", err)
	}
	reader := nsinfo.NewReader(nfs) // only used under the collector's lock
	// One resolver for the server's life: it keeps what engines said, so
	// each is asked once per container id, not once per scrape.
	res := newResolver(o.stateDir)
	if o.root != "/" {
		res = names.New(names.Options{Root: o.root, SandboxDir: o.stateDir, Engines: []names.Engine{}})
	}
	// Every scrape reads everything (fullEvery 1), but through files the
	// scanner keeps open between scrapes.
	scanner := cgroup.NewScanner(cfs, cgroup.ScanOptions{Path: "/", Depth: o.depth}, 1)
	defer scanner.Close()
	col := metrics.New(metrics.Options{
		Scan: scanner.Scan,
		Namespaces: func() ([]metrics.NamespaceCount, error) {
			procs, err := reader.Processes()
			if err != nil {
				return nil, err
			}
			ref, err := nsinfo.Host(procs)
			if err != nil && !errors.Is(err, nsinfo.ErrNoReference) {
				return nil, err
			}
			// With no reference every type's HostKnown is false: the
			// counts are exported, the outside-host counts are not.
			return metrics.CountNamespaces(procs, ref.NS), nil
		},
		Names:  res.Names,
		MaxAge: o.interval,
		Depth:  o.depth,
		Logger: log,
	})
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		col,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register metrics: %w", err)
		}
	}

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<html><head><title>ctop</title></head><body><h1>ctop serve</h1><p><a href="/metrics">metrics</a> <a href="/healthz">healthz</a></p></body></html>`+"\n")
	})

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("serve metrics: %w (is another server on that port? choose one with --listen)", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Info("serving metrics", "addr", ln.Addr().String(), "mode", cfs.Mode().String(),
		"interval", o.interval.String(), "cgroup_depth", o.depth)
	if ready != nil {
		ready(ln.Addr())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve metrics on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return fmt.Errorf("shut down metrics server: %w", err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve metrics on %s: %w", ln.Addr(), err)
	}
	return nil
}
