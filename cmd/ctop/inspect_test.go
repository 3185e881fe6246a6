package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
)

func TestInspectCgroupsBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"inspect", "abc"}, `invalid PID "abc"`},
		{[]string{"inspect", "0"}, `invalid PID "0"`},
		{[]string{"inspect"}, "accepts 1 arg"},
		{[]string{"inspect", "999999999"}, "no process 999999999"},
		{[]string{"cgroups", "--depth", "-1"}, "invalid --depth -1"},
		{[]string{"cgroups", "/ctop-no-such-group"}, "no cgroup /ctop-no-such-group"},
	} {
		_, code, err := ctop(t, tc.args...)
		if code == 0 || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ctop %s: exit %d, %v; want an error with %q", strings.Join(tc.args, " "), code, err, tc.want)
		}
	}
}

// TestCgroupsCommandLive creates a group with limits and a process, and
// checks ctop cgroups --json against the kernel's own files.
func TestCgroupsCommandLive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups")
	}
	f, err := cgroup.Open("/")
	if err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	parent := fmt.Sprintf("/ctop-test-%d-cgroups", os.Getpid())
	mem, pids := cgroup.LimitOf(48<<20), cgroup.LimitOf(16)
	m, err := cgroup.Create(f, parent+"/g", cgroup.Resources{MemoryMax: &mem, PidsMax: &pids})
	t.Cleanup(func() {
		for _, p := range []string{parent + "/g", parent} {
			if m, err := cgroup.Load(f, p); err == nil {
				_ = m.Kill()
				_ = m.Delete()
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	if err := m.AddProc(sleep.Process.Pid); err != nil {
		t.Fatal(err)
	}

	out, code, err := ctop(t, "cgroups", parent, "--json", "--interval", "100ms")
	if code != 0 {
		t.Fatalf("ctop cgroups --json: exit %d, %v: %s", code, err, out)
	}
	var doc struct {
		Mode   string `json:"mode"`
		Groups []struct {
			Path   string        `json:"path"`
			Procs  int           `json:"procs"`
			Limits cgroup.Limits `json:"limits"`
			Rates  struct {
				CPU *float64 `json:"cpu_percent"`
			} `json:"rates"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("decode: %v\n%s", err, out)
	}
	if doc.Mode != f.Mode().String() || len(doc.Groups) != 2 || doc.Groups[1].Path != parent+"/g" {
		t.Fatalf("mode %s, groups %+v", doc.Mode, doc.Groups)
	}
	g := doc.Groups[1]
	// Independent source: the kernel's files.
	memFile, pidsFile := "memory.max", "pids.max"
	memDir, _ := f.Dir("memory", g.Path)
	pidsDir, _ := f.Dir("pids", g.Path)
	if f.Mode() != cgroup.ModeUnified {
		memFile = "memory.limit_in_bytes"
	}
	if want := readTrim(t, filepath.Join(memDir, memFile)); strconv.FormatUint(g.Limits.Memory.Max.V, 10) != want {
		t.Errorf("memory max %v, kernel says %s", g.Limits.Memory.Max, want)
	}
	if want := readTrim(t, filepath.Join(pidsDir, pidsFile)); g.Limits.Pids.String() != want {
		t.Errorf("pids max %v, kernel says %s", g.Limits.Pids, want)
	}
	if want := strings.Count(readTrim(t, filepath.Join(pidsDir, "cgroup.procs")), "\n") + 1; g.Procs != want {
		t.Errorf("procs %d, cgroup.procs lists %d", g.Procs, want)
	}
	if g.Rates.CPU == nil {
		t.Error("no CPU rate after two samples")
	}
	text, code, _ := ctop(t, "cgroups", parent, "--interval", "0")
	if code != 0 || !strings.Contains(text, "└ g") || !strings.Contains(text, "48.0M") {
		t.Errorf("text tree:\n%s", text)
	}
}

func readTrim(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestInspectLive starts a process in new uts and net namespaces and checks
// the isolation diff against stat(2) of its /proc/PID/ns links.
func TestInspectLive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates namespaces")
	}
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS | syscall.CLONE_NEWNET}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := cmd.Process.Pid
	// The child may still be the forked test binary for a moment.
	for i := 0; i < 100 && !strings.HasPrefix(readTrim(t, fmt.Sprintf("/proc/%d/comm", pid)), "sleep"); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	out, code, err := ctop(t, "inspect", strconv.Itoa(pid), "--json")
	if code != 0 {
		t.Fatalf("inspect: exit %d, %v: %s", code, err, out)
	}
	var doc struct {
		PID        int `json:"pid"`
		Namespaces []struct {
			Type   string                  `json:"type"`
			Proc   *struct{ Inode uint64 } `json:"process"`
			Host   *struct{ Inode uint64 } `json:"host"`
			Shared *bool                   `json:"shared"`
		} `json:"namespaces"`
		Seccomp struct {
			Mode *string `json:"mode"` // null: not known
		} `json:"seccomp"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("decode: %v\n%s", err, out)
	}
	if doc.PID != pid || len(doc.Namespaces) != 8 {
		t.Fatalf("pid %d, %d namespaces", doc.PID, len(doc.Namespaces))
	}
	// The seccomp mode as status numbers it (0 disabled, 2 filter).
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	mode := map[string]string{"0": "disabled", "1": "strict", "2": "filter"}
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "Seccomp:\t"); ok && (doc.Seccomp.Mode == nil || *doc.Seccomp.Mode != mode[v]) {
			t.Errorf("seccomp %+v, status says %s", doc.Seccomp, v)
		}
	}
	for _, n := range doc.Namespaces {
		var st, self syscall.Stat_t
		if err := syscall.Stat(fmt.Sprintf("/proc/%d/ns/%s", pid, n.Type), &st); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Stat("/proc/self/ns/"+n.Type, &self); err != nil {
			t.Fatal(err)
		}
		if n.Shared == nil || n.Proc == nil || n.Host == nil || n.Proc.Inode != st.Ino {
			t.Errorf("%s: ctop says %+v, stat says %d", n.Type, n.Proc, st.Ino)
			continue
		}
		isolated := n.Type == "uts" || n.Type == "net"
		if isolated && *n.Shared {
			t.Errorf("%s: reported shared with the host, but was unshared", n.Type)
		}
		// The others are the test's own; shared exactly when the test's are the host's.
		if !isolated && *n.Shared != (self.Ino == n.Host.Inode) {
			t.Errorf("%s: shared=%v, but the test process's is %d and the host's %d", n.Type, *n.Shared, self.Ino, n.Host.Inode)
		}
	}
	text, _, _ := ctop(t, "inspect", strconv.Itoa(pid))
	if !strings.Contains(text, "uts     yes") || !strings.Contains(text, "net     yes") {
		t.Errorf("text diff does not mark uts and net isolated:\n%s", text)
	}
}

func TestTreeNames(t *testing.T) {
	var groups []*cgroup.Group
	for _, p := range []string{"/", "/a", "/a/x", "/a/y", "/a/y/z", "/b"} {
		groups = append(groups, &cgroup.Group{Path: p})
	}
	got := treeNames(groups, 0)
	want := []string{"/", "├ a", "│ ├ x", "│ └ y", "│   └ z", "└ b"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("tree:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
