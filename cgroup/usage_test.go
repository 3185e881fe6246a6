package cgroup

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestUsage derives docker stats' row from two readings of the fixtures'
// web group (--cpus 0.2 --memory 64m --pids-limit 32): the earlier one is
// the same group 1 s before, 0.2 s of CPU time and 20 periods (10 of them
// throttled) earlier, with 1 MiB less written.
func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		layout string
		ws     uint64 // usage less inactive file pages, from the fixture
	}{
		{"v2", 929792 - 69632},
		{"v1", 540672 - 86016},
	} {
		t.Run(tc.layout, func(t *testing.T) {
			cur, err := open(t, tc.layout).Read("/ctopfixture/web")
			if err != nil {
				t.Fatal(err)
			}
			prev := *cur
			c := &prev.Stats.CPU
			c.Usage.V -= 200_000
			c.Periods.V -= 20
			c.Throttled.V -= 10
			prev.Stats.IO = append([]IOStat(nil), cur.Stats.IO...)
			if len(prev.Stats.IO) == 0 {
				t.Fatal("fixture has no io stats")
			}
			prev.Stats.IO[0].WriteBytes -= mib

			got := NewUsage(&prev, cur, time.Second)
			want := Usage{
				CPU:           F64{20, true},
				Memory:        Known(tc.ws),
				MemoryLimit:   LimitOf(64 * mib),
				MemoryPercent: F64{100 * float64(tc.ws) / (64 * mib), true},
				ReadBps:       F64{0, true},
				WriteBps:      F64{mib, true},
				Pids:          cur.Stats.Pids.Current,
				PidsLimit:     LimitOf(32),
				Throttled:     F64{50, true},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("usage (-want +got):\n%s", diff)
			}
			if !got.Pids.OK {
				t.Error("pids.current unread")
			}

			// One reading: no rates, but memory and pids.
			one := NewUsage(nil, cur, 0)
			if one.CPU.OK || one.Throttled.OK || one.ReadBps.OK || !one.MemoryPercent.OK || !one.Pids.OK {
				t.Errorf("one reading: %+v", one)
			}
		})
	}
}

// TestUsageLimits: a group without its own limits is measured against the
// tightest above it; with none anywhere, the limit is unlimited and the
// percent unknown.
func TestUsageLimits(t *testing.T) {
	g := &Group{
		Limits:    Limits{Memory: MemoryLimits{Max: Max}, Pids: Max},
		Effective: Effective{Memory: LimitOf(1000), Pids: LimitOf(10)},
		Stats:     Stats{Memory: MemoryStats{WorkingSet: Known(250)}, Pids: PidsStats{Current: Known(3)}},
	}
	u := NewUsage(nil, g, 0)
	if u.MemoryLimit != LimitOf(1000) || u.MemoryPercent != (F64{25, true}) || u.PidsLimit != LimitOf(10) {
		t.Errorf("inherited limits: %+v", u)
	}
	g.Effective = Effective{Memory: Max, Pids: Max}
	u = NewUsage(nil, g, 0)
	if u.MemoryLimit != Max || u.MemoryPercent.OK || u.PidsLimit != Max {
		t.Errorf("no limits: %+v", u)
	}
}
