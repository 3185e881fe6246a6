package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
)

// hist builds a history of n one-second samples from a point template.
func hist(n int, p histPoint, marks ...mark) *history {
	h := &history{marks: marks}
	for i := 0; i < n; i++ {
		q := p
		q.at = base.Add(time.Duration(i) * time.Second).UnixNano()
		q.highEvents = p.highEvents * uint32(i)
		h.ring = append(h.ring, q)
	}
	return h
}

func TestDiagnose(t *testing.T) {
	g := &cgroup.Group{Path: "/x"}
	g.Limits.Memory.Max = cgroup.LimitOf(64 << 20)
	cases := []struct {
		name string
		h    *history
		want string // a phrase the hint must hold; "" for no hint
	}{
		{"throttled below quota", hist(10, histPoint{cpuOK: true, thrOK: true, cpu: 0.2, quota: 1, throttled: 25}), "although it used on average only 20% of its quota"},
		{"cpu-bound at quota", hist(10, histPoint{cpuOK: true, thrOK: true, cpu: 0.98, quota: 1, throttled: 60}), "CPU-bound at its quota of 1 CPUs"},
		{"idle", hist(10, histPoint{cpuOK: true, thrOK: true, cpu: 0.1, quota: 1}), ""},
		{"held at high", hist(10, histPoint{memOK: true, mem: 50 << 20, high: 50 << 20, highEvents: 3}), "held at memory.high (50M)"},
		{"at max", hist(10, histPoint{memOK: true, mem: 63 << 20, max: 64 << 20}), "at memory.max (64M)"},
		{"oom", hist(10, histPoint{memOK: true, mem: 63 << 20, max: 64 << 20}, mark{t: base.Add(5 * time.Second), kind: markOOM}), "OOM killer ended a process"},
		{"forks", hist(10, histPoint{pidsOK: true, pids: 10, pidsMax: 10}), "Forks are failing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := strings.Join(diagnose(g, c.h), "\n")
			if c.want == "" && got != "" {
				t.Errorf("unexpected hint %q", got)
			}
			if c.want != "" && !strings.Contains(got, c.want) {
				t.Errorf("hints %q lack %q", got, c.want)
			}
		})
	}
}

// Rates come from the counters' deltas: 400 ms of CPU in 1 s is 40% of a
// core and 80% of a 0.5 quota; 3 of 10 periods throttled is 30%.
func TestRates(t *testing.T) {
	f := newFakeHost()
	a, _ := f.Snapshot()
	b, _ := f.Snapshot()
	r := newRates(a.Groups[2], b.Groups[2], b.Time.Sub(a.Time))
	if !r.ok || r.cpu != 40 || !r.quotaOK || r.quota != 80 || !r.thrOK || r.throttled != 30 || r.write != 1<<20 {
		t.Errorf("rates %+v", r)
	}
	// A counter going backwards (a group recreated) is no rate.
	if r := newRates(b.Groups[2], a.Groups[2], time.Second); r.ok {
		t.Errorf("backwards counter gave a rate: %+v", r)
	}
}

// A limit change and an OOM kill leave marks; the charts show them.
func TestMarks(t *testing.T) {
	f := newFakeHost()
	f.oomAt = 3
	m := newTestModel(t, f, 100, 40, 2, "")
	f.quota = 20000
	m = sampleNow(m)
	m = sampleNow(m)
	h := m.data.hist["/ctop/web"]
	var kinds []markKind
	for _, mk := range h.marks {
		kinds = append(kinds, mk.kind)
	}
	if len(kinds) != 2 || kinds[0] != markLimit || kinds[1] != markOOM {
		t.Fatalf("marks %+v, want a limit change then an OOM kill", h.marks)
	}
	m = keys(m, "j", "j", "enter")
	v := m.View()
	for _, want := range []string{"cpus 0.5 → 0.2", "1 OOM kill(s)", "The OOM killer ended a process"} {
		if !strings.Contains(v, want) {
			t.Errorf("detail lacks %q:\n%s", want, v)
		}
	}
}

// The history keeps the last historyLen samples, oldest first, and drops
// marks older than its oldest sample.
func TestHistoryRing(t *testing.T) {
	h := &history{}
	g := &cgroup.Group{Path: "/x"}
	for i := 0; i < historyLen+10; i++ {
		at := base.Add(time.Duration(i) * time.Second)
		if i == 5 || i == historyLen+5 {
			h.marks = append(h.marks, mark{t: at, kind: markOOM})
		}
		h.add(at, nil, g, rates{})
	}
	pts := h.points()
	if len(pts) != historyLen {
		t.Fatalf("%d points, want %d", len(pts), historyLen)
	}
	for i, p := range pts {
		if want := base.Add(time.Duration(i+10) * time.Second); !p.t().Equal(want) {
			t.Fatalf("point %d at %v, want %v", i, p.t(), want)
		}
	}
	if last, _ := h.last(); !last.t().Equal(pts[len(pts)-1].t()) {
		t.Errorf("last() %v, want %v", last.t(), pts[len(pts)-1].t())
	}
	if len(h.marks) != 1 || !h.marks[0].t.Equal(base.Add(time.Duration(historyLen+5)*time.Second)) {
		t.Errorf("marks %+v, want only the one inside the window", h.marks)
	}
}
