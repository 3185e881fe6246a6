// Package prom is the end-to-end test of ctop serve with a real Prometheus
// server: Prometheus scrapes ctop serve on loopback, and a query through
// Prometheus's HTTP API must find a cgroup the test made, with the limits
// the test set. It needs root (to make the cgroup) and the prometheus
// binary (Debian package prometheus); without either it skips.
package prom

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctop-dev/ctop/internal/promstack"
)

const cgroupRoot = "/sys/fs/cgroup"

// testGroup is a cgroup the test made, in the hierarchies that carry the
// memory (and, where possible, cpu) controller.
type testGroup struct {
	path     string   // as ctop names it: "/ctop-test-..."
	dirs     []string // made by the test, removed in cleanup
	memLimit float64  // as the kernel reports it back
	cpuQuota float64  // seconds per period, 0 when the cpu controller was not available
}

// makeGroup creates ctop-test-<unique> with a 48 MiB memory limit and a
// 0.05 s CPU quota, on a v2 host or in the v1 memory and cpu hierarchies,
// writing the kernel files directly (not through ctop), and removes it in
// cleanup.
func makeGroup(t *testing.T) *testGroup {
	t.Helper()
	name := fmt.Sprintf("ctop-test-prom-%d-%d", os.Getpid(), time.Now().UnixNano())
	g := &testGroup{path: "/" + name}
	t.Cleanup(func() {
		for i := len(g.dirs) - 1; i >= 0; i-- {
			if err := os.Remove(g.dirs[i]); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("remove test cgroup: %v", err)
			}
		}
	})
	mkdir := func(dir string) {
		t.Helper()
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatalf("make test cgroup: %v", err)
		}
		g.dirs = append(g.dirs, dir)
	}
	write := func(path, value string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
			t.Fatalf("set test cgroup limit: %v", err)
		}
	}
	const memLimit, quotaUs, periodUs = 48 << 20, 50000, 100000

	if ctrls, err := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.subtree_control")); err == nil &&
		hasWord(string(ctrls), "memory") {
		// v2: the root's subtree_control enables memory for its children.
		dir := filepath.Join(cgroupRoot, name)
		mkdir(dir)
		write(filepath.Join(dir, "memory.max"), strconv.Itoa(memLimit))
		g.memLimit = readNumber(t, filepath.Join(dir, "memory.max"))
		if hasWord(string(ctrls), "cpu") {
			write(filepath.Join(dir, "cpu.max"), fmt.Sprintf("%d %d", quotaUs, periodUs))
			q, _, _ := strings.Cut(readFile(t, filepath.Join(dir, "cpu.max")), " ")
			g.cpuQuota = parseNumber(t, q) / 1e6
		}
		return g
	}
	mem := filepath.Join(cgroupRoot, "memory")
	if _, err := os.Stat(filepath.Join(mem, "memory.limit_in_bytes")); err != nil {
		t.Skip("skip: no cgroup v2 memory controller in the root's subtree_control and no v1 memory hierarchy at /sys/fs/cgroup/memory")
	}
	dir := filepath.Join(mem, name)
	mkdir(dir)
	write(filepath.Join(dir, "memory.limit_in_bytes"), strconv.Itoa(memLimit))
	g.memLimit = readNumber(t, filepath.Join(dir, "memory.limit_in_bytes"))
	for _, cpu := range []string{"cpu", "cpu,cpuacct"} {
		hier := filepath.Join(cgroupRoot, cpu)
		if _, err := os.Stat(filepath.Join(hier, "cpu.cfs_quota_us")); err != nil {
			continue
		}
		dir := filepath.Join(hier, name)
		mkdir(dir)
		write(filepath.Join(dir, "cpu.cfs_period_us"), strconv.Itoa(periodUs))
		write(filepath.Join(dir, "cpu.cfs_quota_us"), strconv.Itoa(quotaUs))
		g.cpuQuota = readNumber(t, filepath.Join(dir, "cpu.cfs_quota_us")) / 1e6
		break
	}
	return g
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func parseNumber(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func readNumber(t *testing.T, path string) float64 { return parseNumber(t, readFile(t, path)) }

// buildCtop builds ./cmd/ctop into dir, or returns the prebuilt binary the
// test VM (which has no go command) names in CTOP_TEST_BIN.
func buildCtop(t *testing.T, dir string) string {
	t.Helper()
	if bin := os.Getenv("CTOP_TEST_BIN"); bin != "" {
		return bin
	}
	// The go command that built this test, found even where it is not in
	// PATH: the test binary runs where it was built (the VM passes
	// CTOP_TEST_BIN instead), so the build's GOROOT is still meaningful.
	//lint:ignore SA1019 see above; the stat below falls back to PATH
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		if gobin, err = exec.LookPath("go"); err != nil {
			t.Skip("skip: no go command to build ctop with")
		}
	}
	bin := filepath.Join(dir, "ctop")
	cmd := exec.Command(gobin, "build", "-o", bin, "./cmd/ctop")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build ctop: %v\n%s", err, out)
	}
	return bin
}

// queryResult is the part of Prometheus's /api/v1/query answer we read.
type queryResult struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"` // [time, "value"]
		} `json:"result"`
	} `json:"data"`
}

// query runs an instant query; it returns the single value, or ok false
// while the series is not (yet) there.
func query(api, q string) (v float64, ok bool, err error) {
	resp, err := http.Get(api + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	var r queryResult
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, false, fmt.Errorf("decode answer to %s: %w", q, err)
	}
	if r.Status != "success" {
		return 0, false, fmt.Errorf("query %s: %s", q, r.Error)
	}
	if len(r.Data.Result) != 1 {
		return 0, false, nil
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	v, err = strconv.ParseFloat(s, 64)
	return v, err == nil, err
}

func TestPrometheusScrapesServe(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skip: needs root to make a test cgroup")
	}
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("skip: no prometheus binary (apt-get install prometheus, or make deps)")
	}
	tmp := t.TempDir()
	ctop := buildCtop(t, tmp)
	g := makeGroup(t)

	st := startStack(t, tmp, ctop, promBin)
	serve, serveLog, prom, promLog, api := st.serve, st.serveLog, st.prom, st.promLog, st.api

	// Poll until Prometheus has scraped the group's limits, or give up.
	type check struct {
		query string
		want  float64
	}
	checks := []check{{fmt.Sprintf(`ctop_cgroup_spec_memory_limit_bytes{job="ctop",id=%q}`, g.path), g.memLimit}}
	if g.cpuQuota > 0 {
		checks = append(checks, check{fmt.Sprintf(`ctop_cgroup_spec_cpu_quota_seconds{job="ctop",id=%q}`, g.path), g.cpuQuota})
	}
	deadline := time.Now().Add(90 * time.Second)
	var last string
	for _, c := range checks {
		for {
			v, ok, err := query(api, c.query)
			switch {
			case err != nil:
				last = err.Error() // Prometheus still starting
			case ok && v == c.want:
				t.Logf("%s = %v", c.query, v)
			case ok:
				t.Fatalf("%s = %v, want %v (read back from the kernel)", c.query, v, c.want)
			default:
				last = "no series yet"
			}
			if ok && err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no answer to %s within 90 s: %s\nctop serve:\n%s\nprometheus:\n%s",
					c.query, last, serveLog.String(), tail(promLog.String(), 2000))
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	// The scrape itself succeeded and reported no read failures.
	if v, ok, err := query(api, `up{job="ctop"}`); err != nil || !ok || v != 1 {
		t.Errorf("up{job=\"ctop\"} = %v (found %v, %v), want 1", v, ok, err)
	}

	// SIGTERM shuts ctop serve down cleanly: exit status 0.
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- serve.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("ctop serve after SIGTERM: %v\n%s", err, serveLog.String())
		}
	case <-time.After(15 * time.Second):
		t.Errorf("ctop serve still running 15 s after SIGTERM")
	}
	prom.Process.Signal(syscall.SIGTERM)
}

// stack is ctop serve and a Prometheus server scraping it every second.
type stack struct {
	serve, prom       *exec.Cmd
	serveLog, promLog *promstack.Log
	api               string // Prometheus's base URL
}

// startStack starts ctop serve (--cgroup-depth 2) on a port it picks and
// Prometheus scraping it, both stopped in cleanup.
func startStack(t *testing.T, tmp, ctop, promBin string) *stack {
	t.Helper()
	st := &stack{serve: exec.Command(ctop, "serve", "--listen", "127.0.0.1:0", "--interval", "1s", "--cgroup-depth", "2")}
	st.serveLog = promstack.Start(t, st.serve)
	addr := promstack.ServeAddr(t, st.serveLog, 30*time.Second)
	st.api, st.prom, st.promLog = promstack.Prometheus(t, tmp, promBin, addr)
	return st
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
