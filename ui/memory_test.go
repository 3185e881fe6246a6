package ui

import (
	"strings"
	"testing"

	"github.com/ctop-dev/ctop/cgroup"
)

// TestMemoryLine: the detail shows the working set and page cache beside
// usage when the kernel gave them, and no line when it did not.
func TestMemoryLine(t *testing.T) {
	g := &cgroup.Group{Stats: cgroup.Stats{Memory: cgroup.MemoryStats{
		Current: cgroup.Known(40 << 20), WorkingSet: cgroup.Known(8 << 20), File: cgroup.Known(33 << 20),
	}}}
	got := memoryLine(g)
	for _, want := range []string{"usage 40M", "working set 8.0M", "page cache 33M"} {
		if !strings.Contains(got, want) {
			t.Errorf("memoryLine = %q, want it to contain %q", got, want)
		}
	}
	g.Stats.Memory.WorkingSet = cgroup.U64{}
	if got := memoryLine(g); got != "" {
		t.Errorf("memoryLine without a working set = %q, want none", got)
	}
}

// TestLimitsLineShowsCpusetAndIO: a pinned, IO-throttled group says so in
// its limits line, not only in JSON.
func TestLimitsLineShowsCpusetAndIO(t *testing.T) {
	g := &cgroup.Group{Limits: cgroup.Limits{
		CPU:    cgroup.CPULimits{Quota: cgroup.Max, Cpus: "0-1", Mems: "0"},
		Memory: cgroup.MemoryLimits{Max: cgroup.Max},
		Pids:   cgroup.Max,
		IO: []cgroup.IOLimit{{Device: cgroup.Device{Major: 254}, ReadBps: cgroup.Max, WriteBps: cgroup.LimitOf(1 << 20),
			ReadIOps: cgroup.LimitOf(500), WriteIOps: cgroup.LimitOf(200)}},
	}}
	got := limitsLine(g)
	for _, want := range []string{"cpuset.cpus 0-1", "cpuset.mems 0", "wbps 254:0 1.0M/s", "riops 254:0 500", "wiops 254:0 200"} {
		if !strings.Contains(got, want) {
			t.Errorf("limitsLine = %q, want it to contain %q", got, want)
		}
	}
	if strings.Contains(got, "rbps") {
		t.Errorf("limitsLine = %q: an unlimited rbps is no limit to show", got)
	}
}

// TestIORateZeroIsKnown: a group whose IO files list no device shows an
// IO rate of 0, not "-" (unknown); one without IO files shows "-".
func TestIORateZeroIsKnown(t *testing.T) {
	zero := &cgroup.Group{Stats: cgroup.Stats{IO: []cgroup.IOStat{}}}
	if r := newRates(zero, zero, 1e9); !r.ioOK || r.read != 0 || r.write != 0 {
		t.Errorf("rates of a group with no IO yet = %+v, want known zero", r)
	}
	none := &cgroup.Group{}
	if r := newRates(none, none, 1e9); r.ioOK {
		t.Errorf("rates of a group without IO accounting = %+v, want unknown", r)
	}
}
