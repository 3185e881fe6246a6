package main

import (
	"path/filepath"
	"testing"

	"github.com/ctop-dev/ctop/nsinfo"
)

// TestProcSourceFixture: the TUI's process table holds, for every process
// of the fixture hosts, what a fresh nsinfo read says, with the host's
// reference namespaces; a second sample (from the tracker's caches) holds
// the same.
func TestProcSourceFixture(t *testing.T) {
	for _, root := range nsFixtures {
		t.Run(filepath.Base(root), func(t *testing.T) { testProcSource(t, root) })
	}
}

func testProcSource(t *testing.T, root string) {
	fs, err := nsinfo.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	want, err := fs.ProcessesWith(nsinfo.DefaultFields | nsinfo.FieldCmdline)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := nsinfo.Host(want)
	if err != nil {
		t.Fatal(err)
	}
	src := newProcSource(fs)
	for sample := range 2 {
		table, err := src.Processes()
		if err != nil {
			t.Fatal(err)
		}
		if table.Host != ref.NS {
			t.Errorf("sample %d: host %v, want pid %d's %v", sample, table.Host, ref.PID, ref.NS)
		}
		if len(table.Procs) != len(want) {
			t.Fatalf("sample %d: %d processes, want %d", sample, len(table.Procs), len(want))
		}
		for i, p := range table.Procs {
			w := want[i]
			if p.PID != w.PID || p.PPID != w.PPID || p.User != w.User || p.Command != w.Command() ||
				p.Start != w.StartTime || p.NS != w.NS || p.Cgroup != nsinfo.CgroupPath(w.Cgroups) {
				t.Errorf("sample %d: pid %d shown as %+v, nsinfo reads %+v", sample, w.PID, p, w)
			}
			// kthreadd and its children are kernel threads; the
			// fixtures' other processes are not.
			if kernel := w.PID == 2 || w.PPID == 2; p.Kernel != kernel {
				t.Errorf("sample %d: pid %d (%s) kernel thread %v, want %v", sample, w.PID, w.Comm, p.Kernel, kernel)
			}
			if own := w.OwnPID(); own != w.PID && p.NSPid != own {
				t.Errorf("sample %d: pid %d inside its namespace %d, want %d", sample, w.PID, p.NSPid, own)
			}
		}
	}
}
