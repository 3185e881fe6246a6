package cgroup

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWorkingSetRule(t *testing.T) {
	tests := []struct {
		name            string
		usage, inactive U64
		want            U64
	}{
		{"usage less inactive file", Known(1000), Known(300), Known(700)},
		{"floored at zero", Known(100), Known(300), Known(0)},
		{"equal is zero", Known(300), Known(300), Known(0)},
		{"nothing inactive", Known(1000), Known(0), Known(1000)},
		{"no inactive_file: unknown, not usage", Known(1000), U64{}, U64{}},
		{"no usage: unknown", U64{}, Known(5), U64{}},
	}
	for _, tt := range tests {
		if got := workingSet(tt.usage, tt.inactive); got != tt.want {
			t.Errorf("%s: workingSet(%v, %v) = %v, want %v", tt.name, tt.usage, tt.inactive, got, tt.want)
		}
	}
}

// TestWorkingSetFixtures checks the working set and page cache of each
// layout against the fixture files: v2 memory.current - inactive_file, v1
// usage_in_bytes - total_inactive_file (hybrid keeps memory on v1).
func TestWorkingSetFixtures(t *testing.T) {
	tests := []struct {
		tree string
		// usage, inactive and file as the fixture's files say.
		usage, inactive, file uint64
	}{
		{"v2", 929792, 69632, 81920},
		{"hybrid", 540672, 86016, 167936},
		{"v1", 540672, 86016, 167936},
	}
	for _, tt := range tests {
		t.Run(tt.tree, func(t *testing.T) {
			f := open(t, tt.tree)
			// A full scan reads memory.stat; a quick one carries what it
			// read and takes the working set from the fresh usage.
			sc := NewScanner(f, ScanOptions{Path: "/ctopfixture/web"}, 2)
			defer sc.Close()
			for _, quick := range []bool{false, true} {
				snap, err := sc.Scan()
				if err != nil {
					t.Fatal(err)
				}
				g := snap.Groups[0]
				want := MemoryStats{Current: Known(tt.usage), WorkingSet: Known(tt.usage - tt.inactive), File: Known(tt.file)}
				got := g.Stats.Memory
				got = MemoryStats{Current: got.Current, WorkingSet: got.WorkingSet, File: got.File}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("quick %v: memory (-want +got):\n%s", quick, diff)
				}
			}
		})
	}
}

// TestIOZeroIsNotUnknown: a group whose IO files exist but list no device
// has IO known and zero (empty), not unknown (nil).
func TestIOZeroIsNotUnknown(t *testing.T) {
	for _, tree := range []string{"v1", "hybrid", "v2"} {
		g, err := open(t, tree).Read("/ctopfixture/idle")
		if err != nil {
			t.Fatal(err)
		}
		if g.Stats.IO == nil || len(g.Stats.IO) != 0 {
			t.Errorf("%s: idle's IO = %#v, want known and empty", tree, g.Stats.IO)
		}
	}
}
