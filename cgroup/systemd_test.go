package cgroup

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSystemdProperties(t *testing.T) {
	var got []string
	for _, p := range SystemdProperties(fullResources()) {
		got = append(got, p.String())
	}
	want := []string{
		"CPUQuota=50%", "CPUQuotaPeriodSec=100000us", "CPUWeight=100", "AllowedCPUs=0-1",
		"MemoryMax=67108864", "MemoryLow=16777216",
		// docker's memory+swap becomes systemd's swap alone.
		"MemorySwapMax=33554432", "TasksMax=10",
		"IOWriteBandwidthMax=/dev/block/254:0 1048576", "IOReadIOPSMax=/dev/block/254:0 infinity",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}

	mem, unl := LimitOf(64<<20), Max
	for _, tc := range []struct {
		name string
		r    Resources
		want []SystemdProperty
	}{
		{"nothing", Resources{}, nil},
		{"unlimited quota resets it", Resources{CPU: &CPUMax{Quota: Max}, PidsMax: &unl}, []SystemdProperty{{"CPUQuota", ""}, {"TasksMax", "infinity"}}},
		{"swap without memory is left out", Resources{MemorySwap: &mem}, nil},
		{"unlimited swap", Resources{MemoryMax: &mem, MemorySwap: &unl}, []SystemdProperty{{"MemoryMax", "67108864"}, {"MemorySwapMax", "infinity"}}},
	} {
		if d := cmp.Diff(tc.want, SystemdProperties(tc.r)); d != "" {
			t.Errorf("%s: (-want +got)\n%s", tc.name, d)
		}
	}
}
