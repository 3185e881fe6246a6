// Package e2e drives the real ctop binary in tmux as a user would: it
// opens the TUI, finds a cgroup the test created, opens its detail,
// launches a sandbox from the form with a memory limit, edits that limit,
// sees the new value and a chart, stops the sandbox, quits, and checks that
// nothing was left behind.
package e2e

import (
	"bytes"
	"errors"
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

// screenWait is how long a screen may take to show what the test expects;
// the UI samples every second.
const screenWait = 20 * time.Second

// tmux drives one private tmux server (its own socket, so nothing else on
// the machine is touched).
type tmux struct {
	t      *testing.T
	socket string
	target string
}

func (x *tmux) run(args ...string) (string, error) {
	// -u: UTF-8 whatever the locale (CI and the test VM may set none), so
	// the charts' braille and the tree's lines come through.
	out, err := exec.Command("tmux", append([]string{"-u", "-L", x.socket}, args...)...).CombinedOutput()
	return string(out), err
}

// keys sends tmux key names (Enter, Down, C-s, Escape) or single characters.
func (x *tmux) keys(ks ...string) {
	x.t.Helper()
	for _, k := range ks {
		if out, err := x.run("send-keys", "-t", x.target, k); err != nil {
			x.t.Fatalf("tmux send-keys %s: %v: %s", k, err, out)
		}
	}
}

// text types s literally.
func (x *tmux) text(s string) {
	x.t.Helper()
	if out, err := x.run("send-keys", "-t", x.target, "-l", s); err != nil {
		x.t.Fatalf("tmux send-keys -l %q: %v: %s", s, err, out)
	}
}

func (x *tmux) screen() string {
	out, _ := x.run("capture-pane", "-p", "-t", x.target)
	return out
}

// waitFor polls the screen until it holds every one of want.
func (x *tmux) waitFor(what string, want ...string) string {
	x.t.Helper()
	deadline := time.Now().Add(screenWait)
	var s string
	for time.Now().Before(deadline) {
		s = x.screen()
		ok := true
		for _, w := range want {
			if !strings.Contains(s, w) {
				ok = false
				break
			}
		}
		if ok {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	x.t.Fatalf("%s: the screen never showed %q; last screen:\n%s", what, want, s)
	return ""
}

// waitGone polls the screen until it no longer holds s.
func (x *tmux) waitGone(what, s string) {
	x.t.Helper()
	deadline := time.Now().Add(screenWait)
	for time.Now().Before(deadline) {
		if !strings.Contains(x.screen(), s) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	x.t.Fatalf("%s: the screen still shows %q:\n%s", what, s, x.screen())
}

// escape sends esc and waits until gone disappears: a key sent right
// after an esc would read as alt+key.
func (x *tmux) escape(gone string) {
	x.t.Helper()
	x.keys("Escape")
	x.waitGone("esc", gone)
}

// hostLayout says where the test's cgroup goes: the v2 tree, or the v1
// cpu and memory hierarchies.
func hostLayout(t *testing.T) (v2 bool, dirs []string) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type == 0x63677270 { // CGROUP2_SUPER_MAGIC
		return true, []string{"/sys/fs/cgroup"}
	}
	for _, c := range []string{"cpu", "memory"} {
		d := filepath.Join("/sys/fs/cgroup", c)
		if _, err := os.Stat(filepath.Join(d, "cgroup.procs")); err != nil {
			t.Skipf("no v1 %s hierarchy at %s and no cgroup v2 at /sys/fs/cgroup", c, d)
		}
		dirs = append(dirs, d)
	}
	return false, dirs
}

// allHierarchies lists every mounted cgroup hierarchy: /sys/fs/cgroup on a
// v2 host, each v1 controller's directory and the v2 mount of a hybrid one.
// A sandbox makes its group in each of them.
func allHierarchies() []string {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type == 0x63677270 {
		return []string{"/sys/fs/cgroup"}
	}
	var out []string
	ents, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range ents {
		d := filepath.Join("/sys/fs/cgroup", e.Name())
		if fi, err := os.Lstat(d); err == nil && fi.IsDir() {
			if _, err := os.Stat(filepath.Join(d, "cgroup.procs")); err == nil {
				out = append(out, d)
			}
		}
	}
	return out
}

// removeGroup kills what is in a cgroup directory tree and removes it,
// children first.
func removeGroup(dir string) {
	var dirs []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		b, _ := os.ReadFile(filepath.Join(dirs[i], "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		for j := 0; j < 50; j++ {
			if err := os.Remove(dirs[i]); err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// processesWith lists the pids whose command line holds token.
func processesWith(token string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(bytes.ReplaceAll(b, []byte{0}, []byte{' '}), []byte(token)) {
			out = append(out, pid)
		}
	}
	return out
}

// buildCtop builds ./cmd/ctop into dir, or returns $CTOP_E2E_BIN when set
// (a binary built elsewhere).
func buildCtop(t testing.TB, dir string) string {
	t.Helper()
	// A prebuilt binary: CTOP_E2E_BIN by hand, CTOP_TEST_BIN in the test VM
	// (which has no go command).
	for _, env := range []string{"CTOP_E2E_BIN", "CTOP_TEST_BIN"} {
		if bin := os.Getenv(env); bin != "" {
			return bin
		}
	}
	bin := filepath.Join(dir, "ctop")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ctop")
	build.Dir = "../.."
	// Static, as make build makes it: a cgo build maps libc as well, about
	// 1 MiB more resident memory, and the speed benchmark measures that.
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/ctop: %v\n%s", err, out)
	}
	return bin
}

func TestTUI(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the end-to-end test creates cgroups and launches a sandbox: it needs root")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (apt-get install tmux)")
	}
	v2, hier := hostLayout(t)

	unique := fmt.Sprintf("ctop-test-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	tmp := t.TempDir()
	bin := buildCtop(t, tmp)

	// The cgroup to find: /UNIQUE/probe with a 48 MiB memory limit and one
	// sleeping process.
	var probeDirs []string
	for _, h := range hier {
		d := filepath.Join(h, unique, "probe")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("create test cgroup: %v", err)
		}
		t.Cleanup(func() { removeGroup(filepath.Join(h, unique)) })
		probeDirs = append(probeDirs, d)
	}
	if v2 {
		// Enable the controllers for the children, as a v2 parent must;
		// memory is the one the test needs.
		ctl := filepath.Join(hier[0], unique, "cgroup.subtree_control")
		if err := os.WriteFile(ctl, []byte("+memory"), 0o644); err != nil {
			t.Skipf("cannot enable the memory controller under %s: %v", unique, err)
		}
		for _, c := range []string{"+pids", "+cpu"} {
			_ = os.WriteFile(ctl, []byte(c), 0o644) // shown when available
		}
		if err := os.WriteFile(filepath.Join(probeDirs[0], "memory.max"), []byte("50331648"), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if err := os.WriteFile(filepath.Join(hier[1], unique, "probe", "memory.limit_in_bytes"), []byte("50331648"), 0o644); err != nil {
		t.Fatal(err)
	}
	sleeper := exec.Command("sleep", "3000")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	for _, d := range probeDirs {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(sleeper.Process.Pid)), 0o644); err != nil {
			t.Fatalf("move the sleeper into %s: %v", d, err)
		}
	}

	// Sandboxes go under their own parent and state directory.
	sbParent := "/" + unique + "-sb"
	state := filepath.Join(tmp, "state")
	t.Cleanup(func() {
		for _, h := range allHierarchies() {
			removeGroup(filepath.Join(h, unique+"-sb"))
		}
	})
	sbName := "e2e" + strconv.Itoa(os.Getpid())
	sbToken := fmt.Sprintf("%d", 86000+os.Getpid()%400)
	// Should the test fail half-way, stop the sandbox as a user would, and
	// end its monitor (named after the sandbox, so only ours) if that fails.
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(state, sbName)); err == nil {
			exec.Command(bin, "stop", "--state-dir", state, sbName).Run()
		}
		for _, pid := range processesWith("ctop-monitor " + sbName) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	x := &tmux{t: t, socket: unique, target: unique}
	if out, err := x.run("new-session", "-d", "-s", unique, "-x", "110", "-y", "34",
		bin, "--cgroup-parent", sbParent, "--state-dir", state); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() { x.run("kill-server") })

	// Find the test's cgroup with the filter and open its detail.
	x.waitFor("cgroups view", "CGROUP", "MEMORY")
	x.keys("/")
	x.text(unique)
	x.keys("Enter")
	x.waitFor("filtered tree", unique, "probe")
	x.keys("G", "Enter")
	x.waitFor("detail of the probe", "cgroup /"+unique+"/probe", "memory.max 48M", "Memory")

	// Explain opens anywhere and names the kernel file.
	x.keys("e")
	x.waitFor("explain picker", "Explain:", "Memory limit (memory.max)")
	x.keys("Down", "Down", "Down", "Down", "Enter")
	file := "memory.max"
	if !v2 {
		file = "memory.limit_in_bytes"
	}
	x.waitFor("explain of memory.max", filepath.Join(unique, "probe", file), "ctop update /"+unique+"/probe --memory")
	x.escape("To change it")
	x.escape("Explain:")
	x.escape("cgroup /" + unique + "/probe")

	// Launch a sandbox with a 32 MiB memory limit from the form.
	x.keys("4", "n")
	x.waitFor("new sandbox form", "New sandbox", "namespaces")
	x.keys("C-u")
	x.text("sleep " + sbToken)
	x.keys("Down")
	x.text(sbName)
	x.keys("Down", "Down", "Down")
	x.text("32m")
	x.keys("C-s")
	x.waitFor("sandbox listed", "launched sandbox "+sbName, sbName, "running")

	// Its detail; then give it a CPU quota and raise its memory limit to
	// 48 MiB, and see both on the charts.
	x.keys("Enter")
	x.waitFor("sandbox detail", "sandbox "+sbName, "memory.max 32M")
	x.keys("u")
	x.waitFor("limits form", "Edit limits of "+sbName)
	x.keys("C-u")
	x.text("0.5")
	x.keys("Down", "C-u")
	x.text("48m")
	x.keys("C-s")
	x.waitFor("new limits and their marks", "memory.max 48M", "memory.max 32M → 48M", "cpus max → 0.5", "quota 0.5",
		"limits of "+sbName+" changed", "Memory  ⣿ current")
	// The kernel agrees.
	var limFile string
	if v2 {
		limFile = filepath.Join(hier[0], unique+"-sb", sbName, "memory.max")
	} else {
		limFile = filepath.Join(hier[1], unique+"-sb", sbName, "memory.limit_in_bytes")
	}
	if b, err := os.ReadFile(limFile); err != nil || strings.TrimSpace(string(b)) != "50331648" {
		t.Errorf("%s holds %q (%v), want 50331648", limFile, b, err)
	}

	// Stop it, with confirmation.
	x.keys("K")
	x.waitFor("stop confirmation", "Stop sandbox "+sbName+"?")
	x.keys("y")
	x.waitFor("stopped", "stopped sandbox "+sbName)
	x.keys("q")
	deadline := time.Now().Add(screenWait)
	for {
		if _, err := x.run("has-session", "-t", unique); err != nil {
			break // ctop exited, and tmux with it
		}
		if time.Now().After(deadline) {
			t.Fatalf("ctop did not quit on q; screen:\n%s", x.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Nothing left behind: no sandbox cgroup (in any hierarchy), state or
	// process.
	for _, h := range allHierarchies() {
		d := filepath.Join(h, unique+"-sb", sbName)
		if _, err := os.Stat(d); err == nil {
			t.Errorf("sandbox cgroup %s is left behind", d)
		}
	}
	if ents, _ := os.ReadDir(state); len(ents) > 0 {
		t.Errorf("sandbox state left in %s: %v", state, ents)
	}
	if pids := processesWith("sleep " + sbToken); len(pids) > 0 {
		t.Errorf("sandbox processes left behind: %v", pids)
	}
}
