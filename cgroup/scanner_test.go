package cgroup

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// copyFixture copies a fixture tree to a temporary directory the test may
// change.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	dst := t.TempDir()
	if out, err := exec.Command("cp", "-a", filepath.Join("testdata", name)+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("copy fixture: %v: %s", err, out)
	}
	return dst
}

// TestScannerReusesLimitsNotUsage checks what a Scanner re-reads. (How it
// drops a removed group depends on the kernel's ENODEV for open files of a
// removed cgroup, so TestLiveScanner checks that.)
func TestScannerReusesLimitsNotUsage(t *testing.T) {
	root := copyFixture(t, "v2")
	f, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	web := filepath.Join(root, "sys/fs/cgroup/ctopfixture/web")
	write := func(file, val string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(web, file), []byte(val), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	find := func(s *Snapshot, p string) *Group {
		for _, g := range s.Groups {
			if g.Path == p {
				return g
			}
		}
		return nil
	}
	sc := NewScanner(f, ScanOptions{Path: "/ctopfixture"}, 3)
	first, err := sc.Scan()
	if err != nil {
		t.Fatal(err)
	}
	if got := find(first, "/ctopfixture/web").Limits.Memory.Max; got != LimitOf(64*mib) {
		t.Fatalf("memory.max = %v", got)
	}
	write("memory.max", "max\n")
	write("memory.current", "12345\n")
	write("memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 7\n")
	if err := os.Mkdir(filepath.Join(root, "sys/fs/cgroup/ctopfixture/new"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"cgroup.controllers", "cgroup.procs"} {
		if err := os.WriteFile(filepath.Join(root, "sys/fs/cgroup/ctopfixture/new", file), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	second, err := sc.Scan()
	if err != nil {
		t.Fatal(err)
	}
	g := find(second, "/ctopfixture/web")
	if g.Limits.Memory.Max != LimitOf(64*mib) || g.Effective.Memory != LimitOf(64*mib) {
		t.Errorf("between full scans the limit was re-read: %v", g.Limits.Memory.Max)
	}
	if g.Stats.Memory.Current != Known(12345) {
		t.Errorf("usage not re-read: %v", g.Stats.Memory.Current)
	}
	// v2 memory.events is one cheap file: read on every scan.
	if g.Stats.Memory.Events.OOMKill != Known(7) {
		t.Errorf("v2 oom_kill between full scans = %v, want 7", g.Stats.Memory.Events.OOMKill)
	}
	if find(second, "/ctopfixture/new") != nil {
		t.Error("a new group appeared before the next full scan")
	}

	sc.Invalidate()
	third, err := sc.Scan()
	if err != nil {
		t.Fatal(err)
	}
	if got := find(third, "/ctopfixture/web").Limits.Memory.Max; got != Max {
		t.Errorf("after Invalidate memory.max = %v, want max", got)
	}
	if find(third, "/ctopfixture/new") == nil {
		t.Error("the new group is missing after a full scan")
	}
}

// TestScannerCarriesSlowCounters: between full scans a v1 group keeps the
// counters only full scans read (OOM kills, failcnt, peak) while its usage
// is read afresh.
func TestScannerCarriesSlowCounters(t *testing.T) {
	root := copyFixture(t, "hybrid")
	f, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	sc := NewScanner(f, ScanOptions{Path: "/ctopfixture/oom"}, 3)
	defer sc.Close()
	first, err := sc.Scan()
	if err != nil {
		t.Fatal(err)
	}
	full := first.Groups[0]
	mem := filepath.Join(root, "sys/fs/cgroup/memory/ctopfixture/oom")
	if err := os.WriteFile(filepath.Join(mem, "memory.usage_in_bytes"), []byte("4096\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	snap, err := sc.Scan()
	if err != nil {
		t.Fatal(err)
	}
	g := snap.Groups[0]
	if g.Stats.Memory.Current != Known(4096) {
		t.Errorf("usage not re-read: %v", g.Stats.Memory.Current)
	}
	if g.Stats.Memory.Events.OOMKill != Known(1) || !g.Stats.Memory.Failcnt.OK || !g.Stats.Memory.Peak.OK {
		t.Errorf("slow counters not carried: oom_kill %v failcnt %v peak %v",
			g.Stats.Memory.Events.OOMKill, g.Stats.Memory.Failcnt, g.Stats.Memory.Peak)
	}
	if g.Limits.Memory.Max != LimitOf(32*mib) {
		t.Errorf("limit not carried: %v", g.Limits.Memory.Max)
	}
	// memory.stat is read on full scans: the page cache is carried, the
	// working set is the fresh usage less the inactive pages then.
	fm := full.Stats.Memory
	if !fm.WorkingSet.OK || !fm.File.OK {
		t.Fatalf("full scan: working set %v, file %v: the fixture has memory.stat", fm.WorkingSet, fm.File)
	}
	if want := workingSet(Known(4096), Known(fm.Current.V-fm.WorkingSet.V)); g.Stats.Memory.WorkingSet != want || g.Stats.Memory.File != fm.File {
		t.Errorf("quick scan: working set %v file %v, want %v and %v", g.Stats.Memory.WorkingSet, g.Stats.Memory.File, want, fm.File)
	}
	// Swap and pids.events are read on full scans only, and carried.
	if !full.Stats.Memory.Swap.OK || g.Stats.Memory.Swap != full.Stats.Memory.Swap || !g.Stats.Pids.MaxEvents.OK || g.Stats.Pids.MaxEvents != full.Stats.Pids.MaxEvents {
		t.Errorf("swap %v pids max events %v, want the full scan's %v and %v",
			g.Stats.Memory.Swap, g.Stats.Pids.MaxEvents, full.Stats.Memory.Swap, full.Stats.Pids.MaxEvents)
	}
}
