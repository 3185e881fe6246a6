package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/nsinfo"
)

// TestWriteTreeWorkingSetCpusetIO: the table shows the working set beside
// usage, the cpuset, an IO throttle mark, and an IO rate of 0 (not "-")
// for a group whose IO files exist and list no device.
func TestWriteTreeWorkingSetCpusetIO(t *testing.T) {
	g := &cgroup.Group{Path: "/box",
		Limits: cgroup.Limits{CPU: cgroup.CPULimits{Cpus: "0-1"}, Memory: cgroup.MemoryLimits{Max: cgroup.LimitOf(64 << 20)},
			IO: []cgroup.IOLimit{{Device: cgroup.Device{Major: 254}, ReadBps: cgroup.Max, WriteBps: cgroup.LimitOf(1 << 20),
				ReadIOps: cgroup.Max, WriteIOps: cgroup.Max}}},
		Stats: cgroup.Stats{
			Memory: cgroup.MemoryStats{Current: cgroup.Known(40 << 20), WorkingSet: cgroup.Known(8 << 20)},
			IO:     []cgroup.IOStat{},
		},
	}
	bare := &cgroup.Group{Path: "/bare"}
	var b bytes.Buffer
	writeTree(&b, &cgroup.Snapshot{Groups: []*cgroup.Group{g, bare}}, map[string]cgroup.Rates{}, nil, true)
	lines := strings.Split(b.String(), "\n")
	head, box, none := strings.Fields(lines[0]), strings.Fields(lines[1]), strings.Fields(lines[2])
	col := func(row []string, title string) string {
		for i, h := range head {
			if h == title && i < len(row) {
				return row[i]
			}
		}
		return "?"
	}
	for title, want := range map[string]string{"MEM": "40.0M", "WSET": "8.0M", "MEMMAX": "64.0M", "CPUSET": "0-1"} {
		if got := col(box, title); got != want {
			t.Errorf("%s of /box = %q, want %q\n%s", title, got, want, b.String())
		}
	}
	if !strings.Contains(lines[1], "r 0 w 0!") {
		t.Errorf("/box IO: want a zero rate and a throttle mark (r 0 w 0!):\n%s", b.String())
	}
	if col(none, "WSET") != "-" || col(none, "CPUSET") != "-" || strings.Contains(lines[2], "r 0") {
		t.Errorf("/bare: unknown values must read -:\n%s", b.String())
	}
}

// TestInspectTextPidNamespace: a process in the host's pid namespace is
// said to be there, not "inside its own".
func TestInspectTextPidNamespace(t *testing.T) {
	for _, tt := range []struct {
		ns   nsinfo.NSDiff
		want string
	}{
		{nsinfo.NSDiff{Type: nsinfo.PID, Known: true, Shared: true}, "pid 42 in the host's pid namespace"},
		{nsinfo.NSDiff{Type: nsinfo.PID, Known: true}, "pid 42 inside its own pid namespace"},
		{nsinfo.NSDiff{Type: nsinfo.PID}, "pid 42 in its pid namespace (whether the host's could not be read)"},
	} {
		d := inspectJSON{PID: 42, NSPID: 42}
		d.Namespaces = []nsinfo.NSDiff{tt.ns}
		var b bytes.Buffer
		writeInspect(&b, d)
		if first, _, _ := strings.Cut(b.String(), "\n"); !strings.HasSuffix(first, tt.want) {
			t.Errorf("shared %v known %v: %q, want it to end %q", tt.ns.Shared, tt.ns.Known, first, tt.want)
		}
	}
}

// TestInspectTextCpusetAndWorkingSet: inspect's limits name the cpuset
// and the working set beside the memory in use.
func TestInspectTextCpusetAndWorkingSet(t *testing.T) {
	d := inspectJSON{Limits: []limitsInForce{
		{Controller: "cpuset", Limits: cgroup.Limits{CPU: cgroup.CPULimits{Cpus: "0", Mems: "", EffectiveCpus: "0", EffectiveMems: "0"}}},
		{Controller: "memory", Effective: cgroup.Effective{Memory: cgroup.Max}, Memory: cgroup.Known(40 << 20), WorkingSet: cgroup.Known(8 << 20)},
	}}
	var b bytes.Buffer
	writeInspect(&b, d)
	for _, want := range []string{"cpuset  cpus 0  mems 0 (inherited)", "in use 40.0M, working set 8.0M"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("inspect lacks %q:\n%s", want, b.String())
		}
	}
}
