package refload

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ctop-dev/ctop/cgroup"
)

// openHost opens the host's cgroups for a root-only test, or skips.
func openHost(t *testing.T) (*cgroup.FS, []hierarchy) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("builds cgroups and namespaces: needs root")
	}
	f, err := cgroup.Open("/")
	if err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	hs, err := hierarchies(f)
	if errors.Is(err, ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return f, hs
}

func TestBuildRemove(t *testing.T) {
	f, hs := openHost(t)
	parent := fmt.Sprintf("/ctop-test-refload-%d", os.Getpid())
	l, err := Build(f, Options{Groups: 3, Procs: 7, Isolated: 2, Parent: parent})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Remove() })
	pids := l.Pids()
	if len(pids) != 7 || len(l.Groups()) != 3 {
		t.Fatalf("got %d pids, %d groups, want 7, 3", len(pids), len(l.Groups()))
	}
	self, _ := os.Readlink("/proc/self/ns/pid")
	for i, pid := range pids {
		ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
		if isolated := ns != self; isolated != (i < 2) {
			t.Errorf("process %d (pid %d): in its own pid namespace %v, want %v", i, pid, isolated, i < 2)
		}
		for _, h := range hs {
			b, err := os.ReadFile(filepath.Join(h.root, l.Groups()[i%3], "cgroup.procs"))
			if err != nil || !slices.Contains(strings.Fields(string(b)), strconv.Itoa(pid)) {
				t.Errorf("pid %d not in %s of %s: %v", pid, l.Groups()[i%3], h.root, err)
			}
		}
	}
	for _, h := range hs {
		if h.has("memory") {
			name := map[int]string{1: "memory.limit_in_bytes", 2: "memory.max"}[h.version]
			b, _ := os.ReadFile(filepath.Join(h.root, l.Groups()[0], name))
			if got := strings.TrimSpace(string(b)); got != memoryMax {
				t.Errorf("%s of %s = %q, want %s", name, l.Groups()[0], got, memoryMax)
			}
		}
	}
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := l.Remove(); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	for _, h := range hs {
		if _, err := os.Stat(filepath.Join(h.root, parent)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left in %s: %v", parent, h.root, err)
		}
	}
	for _, pid := range pids {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.HasPrefix(string(b), "sleep\x00") {
			t.Errorf("pid %d still runs", pid)
		}
	}
}

// TestBuildFailsClean checks that a failed Build removes what it made and
// only that: the parent already exists in the last hierarchy.
func TestBuildFailsClean(t *testing.T) {
	f, hs := openHost(t)
	parent := fmt.Sprintf("/ctop-test-refload-fail-%d", os.Getpid())
	theirs := filepath.Join(hs[len(hs)-1].root, parent)
	if err := os.Mkdir(theirs, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Rmdir(theirs) })
	l, err := Build(f, Options{Groups: 2, Procs: 2, Parent: parent})
	if err == nil {
		l.Remove()
		t.Fatal("Build succeeded over an existing parent")
	}
	if _, err := os.Stat(theirs); err != nil {
		t.Errorf("Build removed a group it did not make: %v", err)
	}
	for _, h := range hs[:len(hs)-1] {
		if _, err := os.Stat(filepath.Join(h.root, parent)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left in %s: %v", parent, h.root, err)
		}
	}
}
