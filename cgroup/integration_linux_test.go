package cgroup

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// liveGroup is a real cgroup made by a test in every hierarchy it needs,
// written to directly (not through the package) so that what Read reports
// is checked against what the kernel was told and reports itself.
type liveGroup struct {
	t    *testing.T
	fs   *FS
	path string   // group path, e.g. /ctop-test-123-456/g
	dirs []string // every directory made, parents first
}

func requireRoot(t *testing.T) *FS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
	f, err := Open("/")
	if err != nil {
		t.Skipf("no cgroup filesystem: %v", err)
	}
	return f
}

// newLiveGroup makes /ctop-test-<unique>/g in the hierarchies of the given
// controllers (the v2 tree with them enabled on a unified host) and removes
// it, killing what is left in it, when the test ends.
func newLiveGroup(t *testing.T, f *FS, ctrls ...string) *liveGroup {
	t.Helper()
	parent := fmt.Sprintf("/ctop-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	g := &liveGroup{t: t, fs: f, path: parent + "/g"}
	t.Cleanup(g.remove)
	if f.Mode() == ModeUnified {
		root, _ := f.Dir("", "/")
		var enable, missing []string
		b, err := os.ReadFile(filepath.Join(root, "cgroup.subtree_control"))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range ctrls {
			if c == "cpuacct" { // v1 only: v2's cpu controller accounts usage itself
				continue
			}
			enable = append(enable, "+"+c)
			if !slices.Contains(strings.Fields(string(b)), c) {
				missing = append(missing, "+"+c)
			}
		}
		// The root is not ours: only enable what is missing there.
		if len(missing) > 0 {
			g.write(filepath.Join(root, "cgroup.subtree_control"), strings.Join(missing, " "))
		}
		g.mkdir(filepath.Join(root, parent))
		g.write(filepath.Join(root, parent, "cgroup.subtree_control"), strings.Join(enable, " "))
		g.mkdir(filepath.Join(root, g.path))
		return g
	}
	seen := map[string]bool{}
	for _, c := range ctrls {
		dir, ok := f.Dir(c, parent)
		if !ok {
			t.Skipf("host has no %s controller", c)
		}
		if seen[dir] {
			continue
		}
		seen[dir] = true
		g.mkdir(dir)
		if c == "cpuset" {
			for _, file := range []string{"cpuset.cpus", "cpuset.mems"} {
				b, err := os.ReadFile(filepath.Join(filepath.Dir(dir), file))
				if err != nil {
					t.Fatal(err)
				}
				g.write(filepath.Join(dir, file), strings.TrimSpace(string(b)))
			}
		}
		g.mkdir(filepath.Join(dir, "g"))
	}
	return g
}

func (g *liveGroup) mkdir(dir string) {
	g.t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		g.t.Fatal(err)
	}
	g.dirs = append(g.dirs, dir)
}

func (g *liveGroup) write(file, val string) {
	g.t.Helper()
	if err := os.WriteFile(file, []byte(val), 0o644); err != nil {
		g.t.Fatalf("write %q to %s: %v", val, file, err)
	}
}

// set writes val to file in the hierarchy of ctrl.
func (g *liveGroup) set(ctrl, file, val string) {
	g.t.Helper()
	dir, _ := g.fs.Dir(ctrl, g.path)
	if g.fs.Mode() == ModeUnified {
		dir, _ = g.fs.Dir("", g.path)
	}
	g.write(filepath.Join(dir, file), val)
}

// start runs argv inside the group (in every hierarchy made).
func (g *liveGroup) start(argv ...string) *exec.Cmd {
	g.t.Helper()
	cmd := g.cmd(argv...)
	g.startCmd(cmd)
	return cmd
}

// cmd returns the command of argv, to be set up and given to startCmd.
func (g *liveGroup) cmd(argv ...string) *exec.Cmd { return exec.Command(argv[0], argv[1:]...) }

// startCmd starts cmd and moves it into the group.
func (g *liveGroup) startCmd(cmd *exec.Cmd) {
	g.t.Helper()
	if err := cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for _, d := range g.dirs {
		if filepath.Base(d) == "g" {
			g.write(filepath.Join(d, "cgroup.procs"), strconv.Itoa(cmd.Process.Pid))
		}
	}
}

func (g *liveGroup) remove() {
	for i := len(g.dirs) - 1; i >= 0; i-- {
		d := g.dirs[i]
		for try := 0; try < 50; try++ {
			if b, err := os.ReadFile(filepath.Join(d, "cgroup.procs")); err == nil {
				for _, p := range strings.Fields(string(b)) {
					if pid, _ := strconv.Atoi(p); pid > 1 {
						unix.Kill(pid, unix.SIGKILL)
					}
				}
			}
			if err := os.Remove(d); err == nil || os.IsNotExist(err) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestLiveMode(t *testing.T) {
	f, err := Open("/")
	if err != nil {
		t.Skipf("no cgroup filesystem: %v", err)
	}
	// Independent check: the filesystem type mounted at /sys/fs/cgroup.
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		t.Skip(err)
	}
	var want Mode
	switch {
	case st.Type == unix.CGROUP2_SUPER_MAGIC:
		want = ModeUnified
	case unix.Statfs("/sys/fs/cgroup/unified", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC:
		want = ModeHybrid
	default:
		want = ModeLegacy
	}
	if f.Mode() != want {
		t.Errorf("Mode() = %v, statfs says %v", f.Mode(), want)
	}
}

func TestLiveLimitsAndUsage(t *testing.T) {
	f := requireRoot(t)
	g := newLiveGroup(t, f, "cpu", "cpuacct", "memory", "pids")
	if f.Mode() == ModeUnified {
		g.set("cpu", "cpu.max", "50000 100000")
		g.set("memory", "memory.max", strconv.Itoa(64*mib))
		g.set("memory", "memory.high", strconv.Itoa(48*mib))
	} else {
		g.set("cpu", "cpu.cfs_quota_us", "50000")
		g.set("memory", "memory.limit_in_bytes", strconv.Itoa(64*mib))
	}
	g.set("pids", "pids.max", "20")
	cmd := g.start("sleep", "60")

	got, err := f.Read(g.path)
	if err != nil {
		t.Fatalf("Read(%s): %v", g.path, err)
	}
	if got.Limits.CPU.Cores() != 0.5 || got.Limits.Memory.Max != LimitOf(64*mib) || got.Limits.Pids != LimitOf(20) {
		t.Errorf("limits = cpu %v mem %v pids %v", got.Limits.CPU.Cores(), got.Limits.Memory.Max, got.Limits.Pids)
	}
	if f.Mode() == ModeUnified && got.Limits.Memory.High != LimitOf(48*mib) {
		t.Errorf("memory.high = %v", got.Limits.Memory.High)
	}
	if got.Procs != Known(1) || got.Stats.Pids.Current != Known(1) {
		t.Errorf("procs %v, pids.current %v: want 1 (sleep)", got.Procs, got.Stats.Pids.Current)
	}
	if got.Effective.Memory != LimitOf(64*mib) || got.Effective.MemFrom != g.path {
		t.Errorf("effective memory = %v from %s", got.Effective.Memory, got.Effective.MemFrom)
	}
	// The kernel's own view of where the process is.
	ctrl := "memory"
	if f.Mode() == ModeUnified {
		ctrl = ""
	}
	if p, err := f.ProcessCgroup(cmd.Process.Pid, ctrl); err != nil || p != g.path {
		t.Errorf("ProcessCgroup = %q, %v; want %s", p, err, g.path)
	}
	// The parent's scan holds the child with its effective limits.
	snap, err := f.Scan(ScanOptions{Path: filepath.Dir(g.path)})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Groups) != 2 || snap.Groups[1].Path != g.path || snap.Groups[1].Effective.Pids != LimitOf(20) {
		t.Errorf("scan of parent = %d groups", len(snap.Groups))
	}
}

// TestLiveThrottling runs a busy loop under a 0.2 CPU quota and checks that
// the rates derived from two reads show throttling and stay at the quota.
func TestLiveThrottling(t *testing.T) {
	f := requireRoot(t)
	g := newLiveGroup(t, f, "cpu", "cpuacct")
	if f.Mode() == ModeUnified {
		g.set("cpu", "cpu.max", "20000 100000")
	} else {
		g.set("cpu", "cpu.cfs_quota_us", "20000")
	}
	g.start("sh", "-c", "while :; do :; done")
	time.Sleep(300 * time.Millisecond)
	a, err := f.Read(g.path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	time.Sleep(time.Second)
	b, err := f.Read(g.path)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRates(a, b, time.Since(t0))
	if !r.ThrottledPerSec.OK || r.ThrottledPerSec.V <= 0 || b.Stats.CPU.ThrottledTime.V <= a.Stats.CPU.ThrottledTime.V {
		t.Errorf("no throttling seen: %+v, throttled time %v -> %v", r, a.Stats.CPU.ThrottledTime, b.Stats.CPU.ThrottledTime)
	}
	// The kernel caps the loop at 20 % of a core; allow for read skew.
	if !r.CPU.OK || r.CPU.V <= 0 || r.CPU.V > 25 {
		t.Errorf("cpu = %v %% of a core, want (0, 25]", r.CPU)
	}
	if !r.CPUOfQuota.OK || r.CPUOfQuota.V > 125 {
		t.Errorf("cpu of quota = %v", r.CPUOfQuota)
	}
}

// TestLiveScanner checks a Scanner against the kernel: usage read through
// its kept files follows the group, a removed group disappears at the next
// scan, and a group made again under the same path is read afresh.
func TestLiveScanner(t *testing.T) {
	f := requireRoot(t)
	g := newLiveGroup(t, f, "pids")
	sc := NewScanner(f, ScanOptions{Path: filepath.Dir(g.path)}, 100)
	t.Cleanup(sc.Close)
	pidsOf := func() (U64, bool) {
		t.Helper()
		snap, err := sc.Scan()
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range snap.Groups {
			if x.Path == g.path {
				return x.Stats.Pids.Current, true
			}
		}
		return U64{}, false
	}
	if n, ok := pidsOf(); !ok || n != Known(0) {
		t.Fatalf("empty group: pids.current %v, listed %v", n, ok)
	}
	cmd := g.start("sleep", "60")
	if n, _ := pidsOf(); n != Known(1) {
		t.Errorf("after starting a process pids.current = %v, want 1 (kept file not re-read?)", n)
	}
	cmd.Process.Kill()
	cmd.Wait()
	dir, _ := f.Dir("pids", g.path)
	if f.Mode() == ModeUnified {
		dir, _ = f.Dir("", g.path)
	}
	for i := 0; i < 100; i++ {
		if err := os.Remove(dir); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, ok := pidsOf(); ok {
		t.Error("a removed group is still listed")
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sc.Invalidate()
	if n, ok := pidsOf(); !ok || n != Known(0) {
		t.Errorf("group made again: pids.current %v, listed %v", n, ok)
	}
}
