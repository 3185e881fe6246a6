package ui

import (
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// burst is what bubbletea hands over for keys typed faster than it reads
// them (tmux send-keys -l jjj): one message of several runes.
func burst(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

func procsOf(m Model) procsView { return m.views[vProcs].(procsView) }

// procsModel is the Processes view with two samples of processes read, so
// CPU% is known.
func procsModel(t *testing.T, f *fakeHost) Model {
	t.Helper()
	m := newTestModel(t, f, 100, 30, 1, "")
	m = keys(m, "2")
	m = sampleNow(m)
	return sampleNow(m)
}

func pids(v procsView) []int {
	var out []int
	for _, r := range v.rows {
		out = append(out, r.p.PID)
	}
	return out
}

// Every key of a burst acts; in the filter the burst is text.
func TestKeyBurst(t *testing.T) {
	m := newTestModel(t, newFakeHost(), 80, 24, 2, "")
	m = send(m, burst("jjj"))
	if got := cgroupsOf(m).list.cursor; got != 3 {
		t.Errorf("burst jjj: cursor on row %d, want 3", got)
	}
	m = send(m, burst("kk"))
	if got := cgroupsOf(m).list.cursor; got != 1 {
		t.Errorf("burst kk after jjj: cursor on row %d, want 1", got)
	}
	// / opens the filter, and the rest of the burst is its text.
	m = send(m, burst("/sshd"))
	if !m.filtering || cgroupsOf(m).filter != "sshd" {
		t.Errorf("burst /sshd: filtering %v, filter %q; want the filter sshd", m.filtering, cgroupsOf(m).filter)
	}
	m = send(m, burst("jj")) // text, not moves
	if got := cgroupsOf(m).filter; got != "sshdjj" {
		t.Errorf("burst jj in the filter: filter %q, want sshdjj", got)
	}
	// A burst of digits switches view as the last digit says.
	m = keys(m, "esc")
	m = send(m, burst("25"))
	if m.view != vSandboxes {
		t.Errorf("burst 25: view %d, want the sandboxes", m.view)
	}
	// A paste stays a paste: nothing acts.
	m = keys(m, "1")
	before := cgroupsOf(m).list.cursor
	m = send(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("jjj"), Paste: true})
	if got := cgroupsOf(m).list.cursor; got != before {
		t.Errorf("a pasted jjj moved the cursor from %d to %d", before, got)
	}
}

// A burst in a form's field is the field's text.
func TestKeyBurstInForm(t *testing.T) {
	m := newTestModel(t, newFakeHost(), 100, 30, 2, "")
	m = keys(m, "n")
	if m.form == nil {
		t.Fatal("n opened no form")
	}
	m = keys(m, "ctrl+u")
	m = send(m, burst("sleep 9"))
	if m.form == nil || !strings.Contains(m.View(), "sleep 9") {
		t.Errorf("a burst in the form's command field is not its text:\n%s", m.View())
	}
}

var sgr = regexp.MustCompile(`\x1b\[([0-9;]*)m`)

// sgrHas reports whether s sets an attribute for which is says yes.
func sgrHas(s string, is func(n int) bool) bool {
	for _, m := range sgr.FindAllStringSubmatch(s, -1) {
		for _, p := range strings.Split(m[1], ";") {
			if n, err := strconv.Atoi(p); err == nil && is(n) {
				return true
			}
		}
	}
	return false
}

func reverse(s string) bool { return sgrHas(s, func(n int) bool { return n == 7 }) }
func bold(s string) bool    { return sgrHas(s, func(n int) bool { return n == 1 }) }

// coloured says whether s sets a foreground or background colour.
func coloured(s string) bool {
	return sgrHas(s, func(n int) bool {
		return n >= 30 && n <= 38 || n >= 40 && n <= 48 || n >= 90 && n <= 97 || n >= 100 && n <= 107
	})
}

// ansiModel draws on a renderer that writes attributes, as the terminal
// would get them.
func ansiModel(t *testing.T, noColor bool) Model {
	t.Helper()
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	r.SetHasDarkBackground(true)
	f := newFakeHost()
	m := New(Options{Sources: f.sources(), Renderer: r, NoColor: noColor, Now: func() time.Time { return base }})
	m.ticker = func(int, time.Duration) tea.Cmd { return func() tea.Msg { return nil } }
	m = send(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	m = sampleNow(m)
	return sampleNow(m)
}

// Under NO_COLOR the cursor row is in reverse video and the active tab
// bold and reversed, with no colour anywhere; with colours the cursor row
// has a background colour instead.
func TestNoColor(t *testing.T) {
	m := ansiModel(t, true)
	lines := strings.Split(m.View(), "\n")
	if coloured(m.View()) {
		t.Errorf("NO_COLOR screen has colour sequences: %q", m.View())
	}
	// Line 0: the tabs; 1: the header; 2: the first row, the cursor's.
	if !reverse(lines[2]) || !strings.Contains(lines[2], "/") {
		t.Errorf("NO_COLOR cursor row not in reverse video: %q", lines[2])
	}
	if reverse(lines[3]) {
		t.Errorf("NO_COLOR: a row off the cursor is reversed: %q", lines[3])
	}
	tab := lines[0][:strings.Index(lines[0], "Processes")]
	if !reverse(tab) || !bold(tab) {
		t.Errorf("NO_COLOR: the active tab is not bold and reversed: %q", tab)
	}
	c := ansiModel(t, false)
	if !coloured(strings.Split(c.View(), "\n")[2]) {
		t.Errorf("with colours the cursor row has no colour: %q", strings.Split(c.View(), "\n")[2])
	}
}

// S reverses the sort, and so does the key of the current sort pressed
// again; ▲ or ▼ marks the sorted column.
func TestSortReverse(t *testing.T) {
	m := procsModel(t, newFakeHost())
	if got, want := pids(procsOf(m)), []int{200, 1, 100, 201}; !slices.Equal(got, want) {
		t.Fatalf("by cpu: %v, want %v", got, want)
	}
	if !strings.Contains(m.View(), "▼CPU%") {
		t.Errorf("no ▼ on CPU%%:\n%s", m.View())
	}
	m = keys(m, "S")
	if got, want := pids(procsOf(m)), []int{201, 100, 1, 200}; !slices.Equal(got, want) {
		t.Errorf("S: %v, want %v", got, want)
	}
	if !strings.Contains(m.View(), "▲CPU%") {
		t.Errorf("no ▲ on CPU%% reversed:\n%s", m.View())
	}
	m = keys(m, "M")
	if got, want := pids(procsOf(m)), []int{200, 1, 100, 201}; !slices.Equal(got, want) || !strings.Contains(m.View(), "▼MEM") {
		t.Errorf("M: %v, want %v, ▼MEM", got, want)
	}
	m = keys(m, "M")
	if got, want := pids(procsOf(m)), []int{201, 100, 1, 200}; !slices.Equal(got, want) || !strings.Contains(m.View(), "▲MEM") {
		t.Errorf("M again: %v, want %v, ▲MEM", got, want)
	}
	m = keys(m, "N")
	if got, want := pids(procsOf(m)), []int{1, 100, 200, 201}; !slices.Equal(got, want) || !strings.Contains(m.View(), "▲PID") {
		t.Errorf("N: %v, want %v, ▲PID", got, want)
	}
	m = keys(m, "s") // cycles to cpu, in its natural order
	if v := procsOf(m); v.sortBy != procByCPU || v.reverse {
		t.Errorf("s after N: sort %s reversed %v, want cpu not reversed", procSortNames[v.sortBy], v.reverse)
	}

	// The cgroups view: by name ascending, then reversed.
	m = newTestModel(t, newFakeHost(), 80, 24, 2, "")
	m = keys(m, "t") // flat
	names := func() []string {
		var out []string
		for _, r := range cgroupsOf(m).rows {
			out = append(out, r.g.Path)
		}
		return out
	}
	if got := names(); !slices.IsSorted(got) || !strings.Contains(m.View(), "▲CGROUP") {
		t.Errorf("flat by name: %v", got)
	}
	m = keys(m, "N")
	got := names()
	slices.Reverse(got)
	if !slices.IsSorted(got) || !strings.Contains(m.View(), "▼CGROUP") {
		t.Errorf("N again: %v, want names descending and ▼CGROUP", names())
	}
	m = keys(m, "P", "I") // cpu, reversed with htop's I
	if c := cgroupsOf(m); c.sortBy != sortCPU || !c.reverse || !strings.Contains(m.View(), "▲CPU%") {
		t.Errorf("P, I: sort %s reversed %v", cgroupSortNames[c.sortBy], c.reverse)
	}
}

// t draws the process tree: children under their parent with htop's
// lines, siblings in the current order.
func TestProcessTree(t *testing.T) {
	m := procsModel(t, newFakeHost())
	m = keys(m, "t")
	v := procsOf(m)
	var got []string
	for _, r := range v.rows {
		got = append(got, r.prefix+r.p.Command)
	}
	want := []string{"/sbin/init", "├─ python3 -m http.server", "│  └─ sh -c worker", "└─ sshd: /usr/sbin/sshd -D"}
	if !slices.Equal(got, want) {
		t.Errorf("tree by cpu:\n%q\nwant\n%q", got, want)
	}
	m = keys(m, "S")
	got = got[:0]
	for _, r := range procsOf(m).rows {
		got = append(got, r.prefix+r.p.Command)
	}
	want = []string{"/sbin/init", "├─ sshd: /usr/sbin/sshd -D", "└─ python3 -m http.server", "   └─ sh -c worker"}
	if !slices.Equal(got, want) {
		t.Errorf("tree by cpu reversed:\n%q\nwant\n%q", got, want)
	}
	if !procsOf(m).showsTree() {
		t.Error("S left the tree")
	}
	m = keys(m, "t")
	if procsOf(m).showsTree() || procsOf(m).rows[0].prefix != "" {
		t.Error("t again did not go flat")
	}
}

// The whole command line is shown and matched by the filter.
func TestCommandLineShownAndFiltered(t *testing.T) {
	m := procsModel(t, newFakeHost())
	if !strings.Contains(m.View(), "python3 -m http.server") {
		t.Errorf("no whole command line:\n%s", m.View())
	}
	m = keys(m, "/")
	m = typeText(m, "http.server")
	if got := pids(procsOf(m)); !slices.Equal(got, []int{200}) {
		t.Errorf("filter on an argument: %v, want [200]", got)
	}
}

// F9 (or ctrl+k) opens the signal menu; enter sends TERM; KILL asks first;
// pid 1 and kernel threads are refused; a sandbox gets its signal by name.
func TestSignalMenu(t *testing.T) {
	f := newFakeHost()
	f.kernel = true
	m := procsModel(t, f)
	m = keys(m, "N") // by pid: 1, 2, 100, 200, 201
	m = keys(m, "f9")
	if m.signals != nil || !m.statusErr || !strings.Contains(m.status, "pid 1") {
		t.Errorf("F9 on pid 1: menu %v, status %q", m.signals != nil, m.status)
	}
	m = keys(m, "j", "f9")
	if m.signals != nil || !strings.Contains(m.status, "kernel thread") {
		t.Errorf("F9 on a kernel thread: menu %v, status %q", m.signals != nil, m.status)
	}
	m = keys(m, "j", "j")
	m = send(m, tea.KeyMsg{Type: tea.KeyCtrlK})
	if m.signals == nil {
		t.Fatalf("ctrl+k opened no menu; status %q", m.status)
	}
	for _, s := range []string{"Send a signal to process 200 (python3 -m http.server)", "TERM", "INT", "HUP", "KILL", "STOP", "CONT", "USR1", "USR2"} {
		if !strings.Contains(m.View(), s) {
			t.Errorf("menu lacks %q:\n%s", s, m.View())
		}
	}
	m = keys(m, "enter")
	if want := []string{"200/900 SIGTERM"}; !slices.Equal(f.signals, want) {
		t.Errorf("enter sent %v, want %v", f.signals, want)
	}
	if m.signals != nil || m.status != "sent SIGTERM to process 200 (python3 -m http.server)" {
		t.Errorf("after enter: menu %v, status %q", m.signals != nil, m.status)
	}
	// KILL, the fourth, asks; n cancels, y sends.
	m = keys(m, "f9", "j", "j", "j", "enter")
	if m.confirm == nil || !strings.Contains(m.View(), "Send SIGKILL to process 200") || len(f.signals) != 1 {
		t.Fatalf("KILL did not ask first (sent %v):\n%s", f.signals, m.View())
	}
	m = keys(m, "n")
	m = keys(m, "f9", "j", "j", "j", "enter", "y")
	if want := []string{"200/900 SIGTERM", "200/900 SIGKILL"}; !slices.Equal(f.signals, want) {
		t.Errorf("sent %v, want %v", f.signals, want)
	}
	// esc closes the menu and sends nothing.
	m = keys(m, "f9", "esc")
	if m.signals != nil || len(f.signals) != 2 {
		t.Errorf("esc: menu %v, sent %v", m.signals != nil, f.signals)
	}
	// A sandbox.
	m = keys(m, "5", "f9", "j", "enter")
	if got := f.signals[len(f.signals)-1]; got != "web SIGINT" {
		t.Errorf("INT to the sandbox sent %q", got)
	}
	// The key is in the views' help.
	for _, v := range []string{"2", "5"} {
		m = keys(m, v, "?")
		if !strings.Contains(m.View(), "F9") || !strings.Contains(m.View(), "send signal") {
			t.Errorf("? in view %s does not list F9:\n%s", v, m.View())
		}
		m = keys(m, "esc")
	}
	// Without a Signaller.
	m = newTestModel(t, newFakeHost(), 100, 30, 1, "")
	m.ctx.Sources.Signals = nil
	m = keys(m, "5", "f9")
	if m.signals != nil || !strings.Contains(m.status, "not available") {
		t.Errorf("no Signaller: menu %v, status %q", m.signals != nil, m.status)
	}
}

// : opens a command line: a view's name or prefix switches, :q quits,
// anything else is an error; tab completes.
func TestCommandLine(t *testing.T) {
	m := newTestModel(t, newFakeHost(), 80, 24, 2, "")
	m = keys(m, ":")
	m = typeText(m, "procs")
	if !strings.Contains(m.View(), ":procs") {
		t.Errorf("the command line does not show what is typed:\n%s", m.View())
	}
	m = keys(m, "enter")
	if m.view != vProcs || m.commanding {
		t.Errorf(":procs: view %d, still open %v", m.view, m.commanding)
	}
	for cmd, want := range map[string]view{"ns": vNS, "namespaces": vNS, "sa": vSandboxes, "cg": vCgroups, "proc": vProcs, "c": vCgroups} {
		m = keys(m, ":")
		m = typeText(m, cmd)
		m = keys(m, "enter")
		if m.view != want {
			t.Errorf(":%s went to view %d, want %d", cmd, m.view, want)
		}
	}
	// A burst: : opens the line and the rest is its text.
	m = send(m, burst(":sandboxes"))
	m = keys(m, "enter")
	if m.view != vSandboxes {
		t.Errorf("burst :sandboxes: view %d", m.view)
	}
	m = keys(m, ":")
	m = typeText(m, "bogus")
	m = keys(m, "enter")
	if !m.statusErr || !strings.Contains(m.View(), "unknown command :bogus") {
		t.Errorf(":bogus: status %q", m.status)
	}
	m = keys(m, ":")
	m = typeText(m, "na")
	m = keys(m, "tab")
	if got := m.cmdIn.Value(); got != "namespaces" {
		t.Errorf("tab after :na gave %q", got)
	}
	m = keys(m, "esc")
	if m.commanding || m.view != vSandboxes {
		t.Errorf("esc: still open %v, view %d", m.commanding, m.view)
	}
	m = keys(m, ":")
	m = typeText(m, "q")
	if _, cmd := m.Update(tea.KeyMsg{Type: tea.KeyEnter}); cmd == nil {
		t.Error(":q returned no command")
	} else if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error(":q did not quit")
	}
	m = keys(m, "esc", "?")
	if !strings.Contains(m.View(), ": command line") {
		t.Errorf("? does not list ::\n%s", m.View())
	}
}
