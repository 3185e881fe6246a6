package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkTUISteadyState measures the TUI as a user runs it, at the
// reference load of the inspection-core issue: 2,000 sleeping processes
// over 400 cgroups, 200 of them in their own pid, net, uts, ipc and mnt
// namespaces. ctop runs in tmux at a 1 s tick; after a 5 s warm-up, its
// CPU time (utime+stime from /proc/PID/stat) and resident memory (VmRSS
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
	v2, hier := benchLayout(b)
	unique := fmt.Sprintf("ctop-test-bench-%d", os.Getpid())
	tmp := b.TempDir()
	bin := buildCtop(b, tmp)
	load := buildLoad(b, v2, hier, unique, 400, 2000, 200)
	b.Cleanup(load.remove)

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
	for _, v := range []struct{ name, key string }{{"cgroups", "1"}, {"processes", "2"}} {
		tm("send-keys", "-t", unique, v.key)
		time.Sleep(5 * time.Second) // warm-up: the first samples and caches
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

func benchLayout(b *testing.B) (bool, []string) {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type == 0x63677270 {
		return true, []string{"/sys/fs/cgroup"}
	}
	var dirs []string
	for _, c := range []string{"cpu", "memory", "pids"} {
		d := filepath.Join("/sys/fs/cgroup", c)
		if _, err := os.Stat(filepath.Join(d, "cgroup.procs")); err != nil {
			b.Skipf("no v1 %s hierarchy", c)
		}
		dirs = append(dirs, d)
	}
	return false, dirs
}

type load struct {
	procs []*exec.Cmd
	tops  []string
}

func (l *load) remove() {
	for _, c := range l.procs {
		c.Process.Kill()
		c.Wait()
	}
	for _, top := range l.tops {
		removeGroup(top)
	}
}

// buildLoad starts procs sleeping processes spread over groups cgroups
// under unique, isolated of them in new pid, net, uts, ipc and mnt
// namespaces.
func buildLoad(b *testing.B, v2 bool, hier []string, unique string, groups, procs, isolated int) *load {
	l := &load{}
	for _, h := range hier {
		l.tops = append(l.tops, filepath.Join(h, unique))
		if err := os.MkdirAll(filepath.Join(h, unique), 0o755); err != nil {
			l.remove()
			b.Fatal(err)
		}
	}
	if v2 {
		for _, c := range []string{"+cpu", "+memory", "+pids"} {
			_ = os.WriteFile(filepath.Join(hier[0], unique, "cgroup.subtree_control"), []byte(c), 0o644)
		}
	}
	for g := 0; g < groups; g++ {
		for _, h := range hier {
			if err := os.Mkdir(filepath.Join(h, unique, fmt.Sprintf("g%03d", g)), 0o755); err != nil {
				l.remove()
				b.Fatal(err)
			}
		}
	}
	for i := 0; i < procs; i++ {
		c := exec.Command("sleep", "3600")
		if i < isolated {
			c.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNET |
				syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWNS}
		}
		if err := c.Start(); err != nil {
			l.remove()
			b.Fatalf("start sleeper %d: %v", i, err)
		}
		l.procs = append(l.procs, c)
		pid := []byte(strconv.Itoa(c.Process.Pid))
		for _, h := range hier {
			if err := os.WriteFile(filepath.Join(h, unique, fmt.Sprintf("g%03d", i%groups), "cgroup.procs"), pid, 0o644); err != nil {
				l.remove()
				b.Fatalf("place sleeper %d: %v", i, err)
			}
		}
	}
	return l
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
