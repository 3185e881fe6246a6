package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCheckListen(t *testing.T) {
	for _, c := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:9256", false, true},
		{"127.0.0.2:9256", false, true},
		{"[::1]:9256", false, true},
		{"localhost:9256", false, true},
		{"0.0.0.0:9256", false, false},
		{":9256", false, false},
		{"[::]:9256", false, false},
		{"192.0.2.1:9256", false, false},
		{"example.com:9256", false, false},
		{"0.0.0.0:9256", true, true},
		{":9256", true, true},
		{"127.0.0.1", false, false}, // no port
		{"127.0.0.1", true, false},
	} {
		err := checkListen(c.addr, c.remote)
		if (err == nil) != c.ok {
			t.Errorf("checkListen(%q, allowRemote=%v) = %v, want ok=%v", c.addr, c.remote, err, c.ok)
		}
	}
}

// TestServeBadFlags: bad input is one clear line naming the flag, and no
// server is started.
func TestServeBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--listen", "0.0.0.0:9256"}, "--allow-remote"},
		{[]string{"serve", "--listen", "nohost"}, "--listen"},
		{[]string{"serve", "--interval", "-1s"}, "--interval"},
		{[]string{"serve", "--cgroup-depth", "-2"}, "--cgroup-depth"},
		{[]string{"serve", "extra"}, "unknown command"},
	} {
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(c.args)
		err := root.Execute()
		if err == nil {
			t.Errorf("%v: no error", c.args)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
			t.Errorf("%v: error %q, want one line mentioning %s", c.args, msg, c.want)
		}
	}
}

// TestRunServe serves the v2 fixture tree and checks /metrics against the
// fixture's kernel files, /healthz, and that cancelling (what SIGTERM
// does) shuts the server down cleanly.
func TestRunServe(t *testing.T) {
	root := "../../cgroup/testdata/v2"
	memMax, err := os.ReadFile(filepath.Join(root, "sys/fs/cgroup/ctopfixture/web/memory.max"))
	if err != nil {
		t.Fatal(err)
	}
	// A sandbox recorded as running in /ctopfixture/web names its series.
	stateDir := t.TempDir()
	st := `{"name": "shop", "pid": 0, "cgroup": "/ctopfixture/web", "created": "2026-12-07T22:00:00Z"}`
	if err := os.WriteFile(filepath.Join(stateDir, "shop.json"), []byte(st), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	var log bytes.Buffer
	go func() {
		done <- runServe(ctx, serveOptions{listen: "127.0.0.1:0", interval: time.Second, depth: 2, root: root, stateDir: stateDir},
			&log, func(a net.Addr) { addrs <- a })
	}()
	var base string
	select {
	case a := <-addrs:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	code, body := get("/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: status %d\n%s", code, body)
	}
	limit, err := strconv.ParseFloat(strings.TrimSpace(string(memMax)), 64)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := sample(body, "ctop_cgroup_spec_memory_limit_bytes", `id="/ctopfixture/web"`, `name="shop"`, `runtime="ctop"`); got != limit {
		t.Errorf("memory limit of web, named shop: %v (found: %v), want %v from memory.max\n%s", got, ok, limit, grepLines(body, "ctop_cgroup_spec_memory_limit_bytes"))
	}
	if _, ok := sample(body, "ctop_cgroup_memory_working_set_bytes", `id="/ctopfixture/web"`); !ok {
		t.Error("/metrics lacks web's working set")
	}
	for _, want := range []string{
		`ctop_cgroup_mode_info{mode="v2"} 1`,
		`ctop_scrape_success{source="cgroups"} 1`,
		"# TYPE ctop_cgroup_cpu_cfs_throttled_periods_total counter",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// --cgroup-depth 2 leaves out /ctopfixture/nested/a (level 3).
	if strings.Contains(body, `id="/ctopfixture/nested/a"`) {
		t.Error("/metrics exports a group below --cgroup-depth")
	}
	if !strings.Contains(body, `id="/ctopfixture/nested"`) {
		t.Error("/metrics lacks /ctopfixture/nested, at --cgroup-depth")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not shut down")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
	if !strings.Contains(log.String(), "shutting down") {
		t.Errorf("log lacks the shutdown:\n%s", log.String())
	}
}

// sample returns the value of the series of metric whose labels include
// every one of labels (`id="/a"`) in an exposition text.
func sample(body, metric string, labels ...string) (float64, bool) {
	for _, line := range strings.Split(body, "\n") {
		rest, ok := strings.CutPrefix(line, metric+"{")
		if !ok {
			continue
		}
		set, v, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && (strings.HasPrefix(set, l+",") || strings.Contains(set, ","+l+",") ||
				strings.HasSuffix(set, ","+l) || set == l)
		}
		if all {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// grepLines returns the lines of body that start with prefix.
func grepLines(body, prefix string) string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
