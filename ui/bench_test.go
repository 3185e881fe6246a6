package ui

import (
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/names"
	"github.com/ctop-dev/ctop/nsinfo"
)

// refHost is the reference load of the speed benchmarks as the ui sees
// it: 2,000 sleeping processes over 400 groups, the first 200 in their own
// namespaces, beside a host of 100 processes; a few use CPU each second.
type refHost struct {
	step   int
	procs  []Process
	table  []Process // what Processes returns, reused
	groups []*cgroup.Group
	parsed map[string]names.Name
}

func newRefHost() *refHost {
	h := &refHost{parsed: map[string]names.Name{}}
	root := group("/", "cpu", "memory", "pids")
	h.groups = append(h.groups, root)
	for i := 0; i < 100; i++ {
		h.procs = append(h.procs, Process{PID: i + 1, PPID: 1, User: "root", Command: fmt.Sprintf("/usr/sbin/daemon-%d --flag", i),
			Cgroup: "/system.slice/daemon.service", RSS: 4 << 20, Start: uint64(i + 1), NS: hostNS})
	}
	for i := 0; i < 400; i++ {
		h.groups = append(h.groups, group(fmt.Sprintf("/ctop-test-bench/g%03d", i), "cpu", "memory", "pids"))
	}
	for i := 0; i < 2000; i++ {
		ns := hostNS
		if i < 200 {
			for j, t := range []nsinfo.Type{nsinfo.Mnt, nsinfo.PID, nsinfo.Net, nsinfo.IPC, nsinfo.UTS} {
				ns.Set(t, nsinfo.ID{Dev: 3, Ino: 4026533000 + uint64(i*8+j)})
			}
		}
		h.procs = append(h.procs, Process{PID: 1000 + i, PPID: 1, User: "root", Command: "sleep 3600",
			Cgroup: fmt.Sprintf("/ctop-test-bench/g%03d", i%400), RSS: 1 << 20, Start: uint64(5000 + i), NS: ns})
	}
	return h
}

func (h *refHost) Snapshot() (*cgroup.Snapshot, error) {
	n := uint64(h.step)
	for i, g := range h.groups {
		g.Procs = cgroup.Known(5)
		g.Stats.CPU.Usage = cgroup.Known(n * uint64(i) * 1000)
		g.Stats.Memory.Current = cgroup.Known(uint64(i) << 20)
	}
	return &cgroup.Snapshot{Time: base.Add(time.Duration(n) * time.Second), Mode: cgroup.ModeHybrid, Groups: h.groups}, nil
}

func (h *refHost) Dir(string, string) (string, bool) { return "", false }

// Processes fills the same array each time, as the real source does; one
// process in fifty uses some CPU.
func (h *refHost) Processes() (ProcTable, error) {
	h.step++
	h.table = append(h.table[:0], h.procs...)
	for i := range h.table {
		if i%50 == 0 {
			h.procs[i].CPUTime += time.Duration(i) * time.Millisecond
		}
	}
	return ProcTable{Time: base.Add(time.Duration(h.step) * time.Second), Host: hostNS, HostFrom: "pid 1 (init)",
		Procs: h.table}, nil
}

// Names parses each path once, as names.Resolver does without engines.
func (h *refHost) Names(paths []string) map[string]names.Name {
	out := map[string]names.Name{}
	for _, p := range paths {
		n, ok := h.parsed[p]
		if !ok {
			n = names.Parse(p)
			h.parsed[p] = n
		}
		if n.Known() {
			out[p] = n
		}
	}
	return out
}

// BenchmarkProcessesTick is one second of the Processes view at the
// reference load, as the ui spends it: a tick samples the processes (and
// every 5 s the groups), the sample is applied and the view rebuilt, and
// the screen is drawn after each of the two messages, as bubbletea does.
// The sources are fakes: the reading itself is nsinfo's BenchmarkTracker.
func BenchmarkProcessesTick(b *testing.B) {
	h := newRefHost()
	now := base
	m := New(Options{Sources: Sources{Groups: h, Procs: h, Names: h}, Now: func() time.Time { return now }})
	m.ticker = func(int, time.Duration) tea.Cmd { return nil }
	m = send(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	m = keys(m, "2")
	tick := func() {
		now = now.Add(time.Second)
		nm, cmd := m.Update(tickMsg{gen: m.tickGen})
		m = nm.(Model)
		_ = m.View()
		m = runCmd(m, cmd)
		_ = m.View()
	}
	tick()
	tick()
	b.ReportAllocs()
	for b.Loop() {
		tick()
	}
}
