package ui

import (
	"fmt"
	"maps"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/names"
)

// historyLen is how many samples each group keeps for its charts: a
// minute at the default tick. Every group keeps one (a chart opened later
// has its past), so this is most of the ui's memory at hundreds of groups.
const historyLen = 60

// tickMsg arrives every interval; gen discards ticks of an older interval.
type tickMsg struct{ gen int }

// sampleMsg carries one reading of the sources, taken off the UI goroutine.
type sampleMsg struct {
	snap      *cgroup.Snapshot
	snapErr   error
	procs     *ProcTable
	procErr   error
	sandboxes []Sandbox
	sbErr     error
	withProcs bool
	// names is what runs in the groups sampled (nil: not asked).
	names map[string]names.Name
}

// tick arms the next tick.
func tick(gen int, every time.Duration) tea.Cmd {
	return tea.Tick(every, func(time.Time) tea.Msg { return tickMsg{gen: gen} })
}

// sample reads the sources: processes only when a view shows them, and
// groups only when withGroups (the costly parts).
func sample(src Sources, withProcs, withGroups bool) tea.Cmd {
	return func() tea.Msg {
		var m sampleMsg
		m.withProcs = withProcs
		if withGroups && src.Groups != nil {
			m.snap, m.snapErr = src.Groups.Snapshot()
		}
		if withProcs && src.Procs != nil {
			t, err := src.Procs.Processes()
			m.procs, m.procErr = &t, err
		}
		if src.Launcher != nil {
			m.sandboxes, m.sbErr = src.Launcher.Sandboxes()
		}
		if src.Names != nil && (m.snap != nil || m.procs != nil) {
			m.names = src.Names.Names(namedPaths(m.snap, m.procs))
		}
		return m
	}
}

// namedPaths are the groups whose names a sample needs: every group of the
// snapshot, and every process's group with its ancestors.
func namedPaths(snap *cgroup.Snapshot, t *ProcTable) []string {
	var ps []string
	if snap != nil {
		for _, g := range snap.Groups {
			ps = append(ps, g.Path)
		}
	}
	if t != nil {
		// Ancestors drops the repeats: thousands of processes share a few
		// hundred groups.
		cgs := make([]string, 0, len(t.Procs))
		for _, p := range t.Procs {
			if p.Cgroup != "" {
				cgs = append(cgs, p.Cgroup)
			}
		}
		ps = append(ps, names.Ancestors(cgs)...)
	}
	return ps
}

// rates are a group's usage per second between two snapshots.
type rates struct {
	ok        bool
	cpu       float64 // % of one core
	quota     float64 // % of the CPU quota
	quotaOK   bool
	throttled float64 // % of periods throttled
	thrOK     bool
	read      float64 // bytes/s
	write     float64
	ioOK      bool
}

// newRates computes rates from prev to cur over dt: cgroup.NewRates, in the
// units the views show (throttled as a percent, IO summed over devices).
func newRates(prev, cur *cgroup.Group, dt time.Duration) rates {
	var r rates
	if prev == nil || cur == nil || dt <= 0 {
		return r
	}
	c := cgroup.NewRates(prev, cur, dt)
	r.ok, r.cpu = c.CPU.OK, c.CPU.V
	r.quota, r.quotaOK = c.CPUOfQuota.V, c.CPUOfQuota.OK
	r.throttled, r.thrOK = 100*c.ThrottledFraction.V, c.ThrottledFraction.OK
	// IO files that list no device are known zero (empty), missing ones
	// unknown (nil).
	r.ioOK = prev.Stats.IO != nil && cur.Stats.IO != nil
	for _, d := range c.IO {
		r.read, r.write = r.read+d.ReadBps, r.write+d.WriteBps
	}
	return r
}

// histPoint is one sample of a group, for its charts, kept small: 400
// groups keep historyLen of them each.
type histPoint struct {
	at                 int64   // unix nanoseconds
	cpu, quota         float32 // cores
	mem, high, max     float32 // bytes; 0 for unlimited limits
	read, write        float32 // bytes/s
	pids, pidsMax      float32
	throttled          float32 // %
	psiCPU, psiMem     float32
	psiIO              float32
	memOK, pidsOK      bool
	cpuOK, thrOK, ioOK bool
	// highEvents and failcnt are the cumulative memory.events high and v1
	// memory.failcnt counters (their low 32 bits: only differences count).
	highEvents, failcnt uint32
}

func (p histPoint) t() time.Time { return time.Unix(0, p.at) }

// markKind is what a chart mark stands for.
type markKind int

const (
	markLimit markKind = iota
	markOOM
	markPids
)

// mark is a moment worth a vertical line on the charts.
type mark struct {
	t    time.Time
	kind markKind
	what string
}

// history is a group's recent samples, in a ring of historyLen, and marks.
type history struct {
	ring  []histPoint
	head  int // index of the oldest point once the ring is full
	marks []mark
}

// points returns the samples oldest first (a fresh slice).
func (h *history) points() []histPoint {
	if h == nil {
		return nil
	}
	out := make([]histPoint, 0, len(h.ring))
	out = append(out, h.ring[h.head:]...)
	return append(out, h.ring[:h.head]...)
}

// last returns the newest sample.
func (h *history) last() (histPoint, bool) {
	if h == nil || len(h.ring) == 0 {
		return histPoint{}, false
	}
	i := h.head - 1
	if i < 0 {
		i = len(h.ring) - 1
	}
	return h.ring[i], true
}

func finite(l cgroup.Limit) float32 {
	if l.Finite() {
		return float32(l.V)
	}
	return 0
}

// add appends the sample of g at t with rates r, and the marks the change
// from prev shows.
func (h *history) add(t time.Time, prev, g *cgroup.Group, r rates) {
	p := histPoint{
		at:        t.UnixNano(),
		quota:     float32(g.Limits.CPU.Cores()),
		high:      finite(g.Limits.Memory.High),
		max:       finite(g.Limits.Memory.Max),
		pidsMax:   finite(g.Limits.Pids),
		memOK:     g.Stats.Memory.Current.OK,
		pidsOK:    g.Stats.Pids.Current.OK,
		cpuOK:     r.ok,
		thrOK:     r.thrOK,
		ioOK:      r.ioOK,
		cpu:       float32(r.cpu / 100),
		throttled: float32(r.throttled),
		read:      float32(r.read),
		write:     float32(r.write),
		mem:       float32(g.Stats.Memory.Current.V),
		pids:      float32(g.Stats.Pids.Current.V),
		psiCPU:    float32(g.Stats.Pressure.CPU.Some.Avg10),
		psiMem:    float32(g.Stats.Pressure.Memory.Some.Avg10),
		psiIO:     float32(g.Stats.Pressure.IO.Some.Avg10),

		highEvents: uint32(g.Stats.Memory.Events.High.V),
		failcnt:    uint32(g.Stats.Memory.Failcnt.V),
	}
	if h.ring == nil {
		// The ring's final size at once: growing it by appends would leave
		// a trail of smaller copies behind for every group.
		h.ring = make([]histPoint, 0, historyLen)
	}
	if len(h.ring) < historyLen {
		h.ring = append(h.ring, p)
	} else {
		h.ring[h.head] = p
		h.head = (h.head + 1) % historyLen
	}
	if prev != nil {
		h.marks = append(h.marks, changes(t, prev, g)...)
	}
	oldest := h.ring[h.head%len(h.ring)].t()
	for len(h.marks) > 0 && h.marks[0].t.Before(oldest) {
		h.marks = h.marks[1:]
	}
}

// changes lists the limit changes and kill events between two readings.
func changes(t time.Time, prev, g *cgroup.Group) []mark {
	var ms []mark
	lim := func(what string, a, b cgroup.Limit, show func(cgroup.Limit) string) {
		if a.OK && b.OK && a != b {
			ms = append(ms, mark{t, markLimit, fmt.Sprintf("%s %s → %s", what, show(a), show(b))})
		}
	}
	if a, b := prev.Limits.CPU.Cores(), g.Limits.CPU.Cores(); a != b && prev.Limits.CPU.Quota.OK && g.Limits.CPU.Quota.OK {
		show := func(c float64) string {
			if c == 0 {
				return "max"
			}
			return cores(c)
		}
		ms = append(ms, mark{t, markLimit, fmt.Sprintf("cpus %s → %s", show(a), show(b))})
	}
	lim("memory.max", prev.Limits.Memory.Max, g.Limits.Memory.Max, limitBytes)
	lim("memory.high", prev.Limits.Memory.High, g.Limits.Memory.High, limitBytes)
	lim("pids.max", prev.Limits.Pids, g.Limits.Pids, cgroup.Limit.String)
	if a, b := prev.Stats.Memory.Events.OOMKill, g.Stats.Memory.Events.OOMKill; a.OK && b.OK && b.V > a.V {
		ms = append(ms, mark{t, markOOM, fmt.Sprintf("%d OOM kill(s)", b.V-a.V)})
	}
	if a, b := prev.Stats.Pids.MaxEvents, g.Stats.Pids.MaxEvents; a.OK && b.OK && b.V > a.V {
		ms = append(ms, mark{t, markPids, fmt.Sprintf("%d fork(s) refused at pids.max", b.V-a.V)})
	}
	return ms
}

// store holds what the sources returned and what the ui derived from it.
type store struct {
	snap    *cgroup.Snapshot
	byPath  map[string]*cgroup.Group
	rates   map[string]rates
	hist    map[string]*history
	snapErr error

	// procs is the last table of processes. Its Procs are a copy kept in
	// procBuf, which the next sample overwrites in place: the views rebuild
	// their rows from it after every sample and when they are shown, and
	// what outlives a sample (the signal menu) copies what it needs.
	procs    ProcTable
	procBuf  []Process
	procCPU  map[int]float64 // % of one core
	prevProc map[int]procPrev
	// The maps of the sample before, reused for the next: at thousands of
	// processes a sample, new maps each time would be most of the
	// garbage the ui makes.
	spareCPU  map[int]float64
	sparePrev map[int]procPrev
	procErr   error
	procsAt   time.Time

	sandboxes []Sandbox
	sbErr     error

	// names is what runs in each group, by path, from the last sample
	// that asked.
	names map[string]names.Name
	// owners memoises owner by path until the names change: each frame
	// of the Processes view asks it of every process.
	owners map[string]names.Name
}

// owner is what the group at p belongs to: its innermost container, pod or
// sandbox, else its unit (names.Owner); the zero Name when nothing is known.
func (s *store) owner(p string) names.Name {
	if n, ok := s.owners[p]; ok {
		return n
	}
	n, _ := names.Owner(p, s.names)
	if s.owners == nil {
		s.owners = map[string]names.Name{}
	}
	s.owners[p] = n
	return n
}

// matchesName reports whether what runs in the group at p (or what owns
// it) has a name, image, id, pod or unit holding f, already lower case.
func (s *store) matchesName(p, f string) bool {
	if len(s.names) == 0 {
		return false
	}
	for _, t := range s.owner(p).Terms() {
		if strings.Contains(strings.ToLower(t), f) {
			return true
		}
	}
	return false
}

type procPrev struct {
	start uint64
	cpu   time.Duration
}

func newStore() *store {
	return &store{
		byPath:   map[string]*cgroup.Group{},
		rates:    map[string]rates{},
		hist:     map[string]*history{},
		procCPU:  map[int]float64{},
		prevProc: map[int]procPrev{},
	}
}

// apply folds a sample into the store.
func (s *store) apply(m sampleMsg) {
	if m.snap != nil || m.snapErr != nil {
		s.snapErr = m.snapErr
	}
	if m.snap != nil {
		s.applySnapshot(m.snap)
	}
	if m.withProcs {
		s.procErr = m.procErr
		if m.procs != nil && m.procErr == nil {
			s.applyProcs(*m.procs)
		}
	}
	s.sandboxes, s.sbErr = m.sandboxes, m.sbErr
	changed := false
	switch {
	case m.names == nil:
	case m.snap != nil || s.names == nil:
		changed = !maps.Equal(s.names, m.names)
		s.names = m.names
	default:
		// Processes alone were sampled: keep the groups' names too.
		for p, n := range m.names {
			if o, ok := s.names[p]; !ok || o != n {
				s.names[p], changed = n, true
			}
		}
	}
	// The owners are worked out again only when a name changed: names
	// come with every sample, and nearly always the same.
	if changed {
		clear(s.owners)
	}
}

func (s *store) applySnapshot(snap *cgroup.Snapshot) {
	var dt time.Duration
	if s.snap != nil {
		dt = snap.Time.Sub(s.snap.Time)
	}
	by := make(map[string]*cgroup.Group, len(snap.Groups))
	rs := make(map[string]rates, len(snap.Groups))
	for _, g := range snap.Groups {
		by[g.Path] = g
		prev := s.byPath[g.Path]
		r := newRates(prev, g, dt)
		rs[g.Path] = r
		h := s.hist[g.Path]
		if h == nil {
			h = &history{}
			s.hist[g.Path] = h
		}
		h.add(snap.Time, prev, g, r)
	}
	for p := range s.hist {
		if by[p] == nil {
			delete(s.hist, p)
		}
	}
	s.snap, s.byPath, s.rates = snap, by, rs
}

func (s *store) applyProcs(t ProcTable) {
	// The source may reuse t.Procs for its next table (ProcSource); a copy
	// in the array of the one before spares the ui a table of thousands of
	// processes a second to collect.
	if n := len(s.procBuf); n > len(t.Procs) {
		clear(s.procBuf[len(t.Procs):n]) // keep no gone process's strings
	}
	s.procBuf = append(s.procBuf[:0], t.Procs...)
	t.Procs = s.procBuf
	dt := t.Time.Sub(s.procsAt)
	cpu, prev := s.spareCPU, s.sparePrev
	if cpu == nil {
		cpu, prev = make(map[int]float64, len(t.Procs)), make(map[int]procPrev, len(t.Procs))
	}
	clear(cpu)
	clear(prev)
	for _, p := range t.Procs {
		prev[p.PID] = procPrev{p.Start, p.CPUTime}
		if o, ok := s.prevProc[p.PID]; ok && o.start == p.Start && dt > 0 && p.CPUTime >= o.cpu {
			cpu[p.PID] = float64(p.CPUTime-o.cpu) / float64(dt) * 100
		}
	}
	s.spareCPU, s.sparePrev = s.procCPU, s.prevProc
	s.procs, s.procCPU, s.prevProc, s.procsAt = t, cpu, prev, t.Time
}
