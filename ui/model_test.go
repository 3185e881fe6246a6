package ui

import (
	"strings"
	"testing"
	"time"
	"unsafe"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ctop-dev/ctop/nsinfo"
)

// The tick re-arms itself and starts one sample at a time; a stale tick
// (from before an interval change) is dropped; freeze stops sampling.
func TestTick(t *testing.T) {
	m := newTestModel(t, newFakeHost(), 80, 24, 0, "")
	nm, cmd := m.Update(tickMsg{gen: m.tickGen})
	m = nm.(Model)
	if cmd == nil || !m.inflight {
		t.Fatal("a tick did not start a sample")
	}
	nm, _ = m.Update(tickMsg{gen: m.tickGen})
	if nm.(Model).inflight != true {
		t.Fatal("in-flight flag lost")
	}
	m = send(m, cmd().(tea.BatchMsg)[1]()) // the sample's message
	if m.inflight || m.data.snap == nil {
		t.Fatal("sample not applied")
	}
	m = keys(m, "+")
	if m.ctx.Interval != 500*time.Millisecond {
		t.Errorf("+ gave interval %v, want 500ms", m.ctx.Interval)
	}
	if _, cmd := m.Update(tickMsg{gen: m.tickGen - 1}); cmd != nil {
		t.Error("a stale tick was re-armed")
	}
	m = keys(m, "f")
	nm, _ = m.Update(tickMsg{gen: m.tickGen})
	if nm.(Model).inflight {
		t.Error("frozen model sampled")
	}
	if !strings.Contains(nm.(Model).View(), "FROZEN") {
		t.Error("freeze not shown")
	}
}

// Tree: the root and its children start open; ← closes, → opens; a filter
// shows matches with their ancestors.
func TestCgroupTree(t *testing.T) {
	m := newTestModel(t, newFakeHost(), 80, 24, 2, "")
	paths := func() []string {
		var out []string
		for _, r := range cgroupsOf(m).rows {
			out = append(out, r.g.Path)
		}
		return out
	}
	if got := len(paths()); got != 6 {
		t.Fatalf("%d rows, want all 6 groups: %v", got, paths())
	}
	m = keys(m, "left")
	if got := paths(); len(got) != 1 || got[0] != "/" {
		t.Fatalf("after collapsing the root: %v", got)
	}
	m = keys(m, "right")
	m = keys(m, "/")
	m = typeText(m, "sshd")
	m = keys(m, "enter")
	want := []string{"/", "/system.slice", "/system.slice/sshd.service"}
	if got := paths(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("filter sshd shows %v, want %v", got, want)
	}
	m = keys(m, "esc")
	if got := len(paths()); got != 6 {
		t.Errorf("esc did not clear the filter: %v", paths())
	}
}

// The mouse: a click on a tab switches view; a click on a row selects it;
// the wheel moves.
func TestMouse(t *testing.T) {
	m := newTestModel(t, newFakeHost(), 80, 24, 2, "")
	m = send(m, tea.MouseMsg{X: 15, Y: 0, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
	if m.view != vProcs {
		t.Errorf("click on the second tab gave view %d", m.view)
	}
	m = keys(m, "1")
	// Body starts at line 1, its header at 1, rows from 2: /ctop/web is the third row.
	m = send(m, tea.MouseMsg{X: 5, Y: 4, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
	if g := cgroupsOf(m).selected(); g == nil || g.Path != "/ctop/web" {
		t.Errorf("click selected %v, want /ctop/web", g)
	}
	m = send(m, tea.MouseMsg{Button: tea.MouseButtonWheelUp, Y: 5})
	if cgroupsOf(m).list.cursor != 0 {
		t.Errorf("wheel up left the cursor at %d", cgroupsOf(m).list.cursor)
	}
}

// Namespaces are grouped as lsns groups them.
func TestGroupNamespaces(t *testing.T) {
	f := newFakeHost()
	tab, _ := f.Processes()
	gs := groupNamespaces(tab)
	// 8 host namespaces plus 6 of the sandbox (user and time shared).
	if len(gs) != 14 {
		t.Fatalf("%d namespaces, want 14", len(gs))
	}
	for _, g := range gs {
		want := 2
		if g.key.typ == nsinfo.User || g.key.typ == nsinfo.Time {
			want = 4
		}
		if g.procs != want {
			t.Errorf("%s %d: %d processes, want %d", g.key.typ, g.key.id.Ino, g.procs, want)
		}
		if wantLow := map[bool]int{true: 1, false: 200}[g.host]; g.lowest.PID != wantLow {
			t.Errorf("%s %d: lowest pid %d, want %d", g.key.typ, g.key.id.Ino, g.lowest.PID, wantLow)
		}
	}
}

// The views show the namespace kinds in their own order (mnt pid net ipc
// uts user cgroup time), not nsinfo's lsns order: the namespaces list sorts
// by it, the NS column's letters and the explanations follow it.
func TestNamespaceKindOrder(t *testing.T) {
	f := newFakeHost()
	tab, _ := f.Processes()
	var kinds []string
	for _, g := range groupNamespaces(tab) {
		if g.host {
			kinds = append(kinds, string(g.key.typ))
		}
	}
	if got, want := strings.Join(kinds, " "), "mnt pid net ipc uts user cgroup time"; got != want {
		t.Errorf("namespaces listed as %q, want %q", got, want)
	}
	if got, want := nsCells(nil, &tab.Procs[2], tab.Host, true), "mpniu·c·"; got != want {
		t.Errorf("NS column %q, want %q", got, want)
	}
	var titles []string
	for _, tp := range nsTopics(nsinfo.UTS) {
		titles = append(titles, strings.Fields(tp.title)[1])
	}
	if got, want := strings.Join(titles, " "), "uts mnt pid net ipc user cgroup time"; got != want {
		t.Errorf("explained as %q, want %q", got, want)
	}
}

// While the Processes view is open, the cgroups are read only every
// groupsEvery; the Cgroups view reads them on every tick.
func TestGroupsReadLessOftenInProcesses(t *testing.T) {
	f := newFakeHost()
	now := base
	m := New(Options{Sources: f.sources(), Renderer: asciiRenderer(), Now: func() time.Time { return now }})
	m.ticker = func(int, time.Duration) tea.Cmd { return nil }
	tickOnce := func() {
		nm, cmd := m.Update(tickMsg{gen: m.tickGen})
		m = nm.(Model)
		if cmd != nil {
			m = runCmd(m, cmd)
		}
	}
	tickOnce()
	if f.step != 1 {
		t.Fatalf("first tick read the groups %d times", f.step)
	}
	m = keys(m, "2")
	for i := 0; i < 4; i++ {
		now = now.Add(time.Second)
		tickOnce()
	}
	if f.step != 1 {
		t.Errorf("4 s in the Processes view read the groups %d more times, want 0", f.step-1)
	}
	now = now.Add(time.Second)
	tickOnce()
	if f.step != 2 {
		t.Errorf("after 5 s the groups were read %d times, want 2", f.step)
	}
	m = keys(m, "1")
	now = now.Add(time.Second)
	tickOnce()
	if f.step != 3 {
		t.Errorf("a tick in the Cgroups view did not read the groups (%d reads)", f.step)
	}
}

// A tick only starts a sample: the screen after it is the one drawn
// before, not drawn again; the sample's message draws the new one, and a
// frozen screen is drawn at every tick.
func TestTickKeepsFrame(t *testing.T) {
	m := newTestModel(t, newFakeHost(), 100, 24, 1, "")
	m = keys(m, "2")
	before := m.View()
	nm, cmd := m.Update(tickMsg{gen: m.tickGen})
	m = nm.(Model)
	if after := m.View(); unsafe.StringData(after) != unsafe.StringData(before) {
		t.Error("a tick drew the screen again")
	}
	m = runCmd(m, cmd)
	if after := m.View(); unsafe.StringData(after) == unsafe.StringData(before) {
		t.Error("the sample after the tick did not draw the screen")
	}
	m = keys(m, "f")
	before = m.View()
	nm, _ = m.Update(tickMsg{gen: m.tickGen})
	if after := nm.(Model).View(); unsafe.StringData(after) == unsafe.StringData(before) {
		t.Error("a tick of the frozen screen did not draw it")
	}
}

// reusingProcs is a ProcSource that fills one array for every table, as
// ctop's own does.
type reusingProcs struct {
	f     *fakeHost
	table []Process
}

func (r *reusingProcs) Processes() (ProcTable, error) {
	t, err := r.f.Processes()
	r.table = append(r.table[:0], t.Procs...)
	t.Procs = r.table
	return t, err
}

// A source may reuse a table's array for the next one: the screen shows
// the processes of the table as it was applied.
func TestProcTableReused(t *testing.T) {
	f := newFakeHost()
	src := &reusingProcs{f: f}
	m := New(Options{Sources: Sources{Groups: f, Procs: src}, Renderer: asciiRenderer(), Now: func() time.Time { return base }})
	m.ticker = func(int, time.Duration) tea.Cmd { return nil }
	m = send(m, tea.WindowSizeMsg{Width: 100, Height: 24})
	m = keys(m, "2")
	m = sampleNow(m)
	before := m.View()
	if !strings.Contains(before, "python3 -m http.server") {
		t.Fatalf("the sample is not shown:\n%s", before)
	}
	for i := range src.table { // as the source's next call would
		src.table[i].PID += 1000
		src.table[i].Command = "overwritten"
	}
	m = send(m, tea.WindowSizeMsg{Width: 100, Height: 24}) // draw again
	if after := m.View(); after != before {
		t.Errorf("the screen changed with the source's array:\n%s", after)
	}
}
