package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/internal/refload"
)

// BenchmarkTUISteadyState measures the TUI as a user runs it, at the
// reference load of the inspection-core issue: 2,000 sleeping processes
// over 400 cgroups, 200 of them in their own pid, net, uts, ipc and mnt
// namespaces. ctop runs in tmux at a 1 s tick; after a warm-up (65 s
// before the first view, 5 s before the second), its CPU time (utime+stime from /proc/PID/stat) and resident memory (VmRSS
// from /proc/PID/status) are read over 30 s, first on the Cgroups view
// (cgroups only are sampled) and then on the Processes view (processes
// and namespaces too). Everything it made is removed afterwards.
//
//	go test ./test/e2e -run '^$' -bench TUISteadyState -benchtime 1x
//
// Targets (issue 5): at most 3 % of one core and 25 MB RSS.
func BenchmarkTUISteadyState(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("the benchmark creates cgroups and namespaces: it needs root")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		b.Skip("tmux is not installed")
	}
	fs, err := cgroup.Open("/")
	if err != nil {
		b.Skipf("no cgroups: %v", err)
	}
	unique := fmt.Sprintf("ctop-test-bench-%d", os.Getpid())
	tmp := b.TempDir()
	bin := buildCtop(b, tmp)
	load, err := refload.Build(fs, refload.Reference("/"+unique))
	if errors.Is(err, refload.ErrUnsupported) {
		b.Skip(err)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := load.Remove(); err != nil {
			b.Errorf("remove load: %v", err)
		}
	})

	socket := unique
	tm := func(args ...string) (string, error) {
		out, err := exec.Command("tmux", append([]string{"-L", socket}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := tm("new-session", "-d", "-s", unique, "-x", "120", "-y", "40", bin, "--interval", "1s"); err != nil {
		b.Fatalf("tmux: %v: %s", err, out)
	}
	b.Cleanup(func() { tm("kill-server") })
	pidOut, err := tm("list-panes", "-t", unique, "-F", "#{pane_pid}")
	if err != nil {
		b.Fatalf("tmux list-panes: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(pidOut))
	if err != nil {
		b.Fatalf("pane pid %q: %v", pidOut, err)
	}
	b.ResetTimer()
	for i, v := range []struct{ name, key string }{{"cgroups", "1"}, {"processes", "2"}} {
		tm("send-keys", "-t", unique, v.key)
		// Warm-up: the first samples and caches, and before the first view
		// a full chart history for every group (a minute at 1 s), the
		// steady state's largest memory.
		warm := 5 * time.Second
		if i == 0 {
			warm = 65 * time.Second
		}
		time.Sleep(warm)
		c0, _ := cpuTicks(pid)
		t0 := time.Now()
		var peak uint64
		for time.Since(t0) < 30*time.Second {
			time.Sleep(time.Second)
			if r := rssKB(pid); r > peak {
				peak = r
			}
		}
		c1, _ := cpuTicks(pid)
		wall := time.Since(t0).Seconds()
		cpuPct := float64(c1-c0) / 100 / wall * 100
		b.ReportMetric(cpuPct, v.name+"-cpu-%core")
		b.ReportMetric(float64(peak)/1024, v.name+"-peak-rss-MiB")
		b.Logf("%s view: %.2f%% of one core, peak RSS %.1f MiB over %.0f s", v.name, cpuPct, float64(peak)/1024, wall)
	}
	tm("send-keys", "-t", unique, "q")
}

// cpuTicks is utime+stime of pid in clock ticks.
func cpuTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
	ut, _ := strconv.ParseUint(string(f[11]), 10, 64)
	st, _ := strconv.ParseUint(string(f[12]), 10, 64)
	return ut + st, nil
}

// rssKB is VmRSS of pid in KiB.
func rssKB(pid int) uint64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
