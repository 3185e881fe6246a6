package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/sandbox"
)

// Editing limits: the form shows current values, a bad value is shown in
// place and nothing is applied, a good one is applied to the right target
// and the next sample shows it with a mark on the charts.
func TestEditLimits(t *testing.T) {
	f := newFakeHost()
	m := newTestModel(t, f, 80, 24, 3, "")
	m = keys(m, "j", "j", "enter", "u") // detail of /ctop/web, then edit
	if m.form == nil {
		t.Fatal("u did not open the limits form")
	}
	if got := m.form.get("cpus"); got != "0.5" {
		t.Errorf("form shows cpus %q, want the current 0.5", got)
	}
	m = keys(m, "ctrl+u")
	m = typeText(m, "zero")
	m = keys(m, "ctrl+s")
	if m.form == nil || !strings.Contains(m.View(), `--cpus zero: want a number`) {
		t.Fatalf("bad value not reported in place:\n%s", m.View())
	}
	if len(f.limits) != 0 {
		t.Fatalf("a bad value was applied: %v", f.limits)
	}
	m = keys(m, "ctrl+u")
	m = typeText(m, "0.2")
	m = keys(m, "ctrl+s")
	if m.form != nil {
		t.Fatalf("form still open after a good value:\n%s", m.View())
	}
	want := []cgroup.Resources{{CPU: &cgroup.CPUMax{Quota: cgroup.LimitOf(20000), Period: 100000}}}
	if diff := cmp.Diff(want, f.limits); diff != "" {
		t.Errorf("applied changes (-want +got):\n%s", diff)
	}
	if len(f.targets) != 1 || f.targets[0] != "/ctop/web" {
		t.Errorf("applied to %v, want /ctop/web", f.targets)
	}
	m = sampleNow(m)
	v := m.View()
	if !strings.Contains(v, "limits: cpus 0.2") || !strings.Contains(v, "cpus 0.5 → 0.2") {
		t.Errorf("detail does not show the new limit and its mark:\n%s", v)
	}
}

// Lowering memory below what the group uses asks first; n cancels.
func TestLowerMemoryConfirms(t *testing.T) {
	f := newFakeHost()
	m := newTestModel(t, f, 80, 24, 2, "")
	m = keys(m, "j", "j", "u", "down")
	m = keys(m, "ctrl+u")
	m = typeText(m, "16m") // /ctop/web uses 40M
	m = keys(m, "ctrl+s")
	if m.confirm == nil || !strings.Contains(m.View(), "below the 40M in use") {
		t.Fatalf("no confirmation before lowering memory below usage:\n%s", m.View())
	}
	m = keys(m, "n")
	if len(f.limits) != 0 {
		t.Fatalf("applied despite n: %v", f.limits)
	}
	m = keys(m, "ctrl+s", "y")
	if len(f.limits) != 1 || f.limits[0].MemoryMax == nil || *f.limits[0].MemoryMax != cgroup.LimitOf(16<<20) {
		t.Errorf("applied %v, want memory 16m after y", f.limits)
	}
}

// A kernel refusal is shown in the form, which stays open.
func TestEditLimitsError(t *testing.T) {
	f := newFakeHost()
	f.failSet = errors.New("write cpu.max of /ctop/web: invalid argument")
	m := newTestModel(t, f, 80, 24, 2, "")
	m = keys(m, "j", "j", "u", "ctrl+u")
	m = typeText(m, "0.3")
	m = keys(m, "ctrl+s")
	if m.form == nil || !strings.Contains(m.View(), "invalid argument") {
		t.Errorf("error not shown in the form:\n%s", m.View())
	}
}

// The new-sandbox form validates names and namespaces in place, then
// launches what was typed and switches to the Sandboxes view.
func TestNewSandbox(t *testing.T) {
	f := newFakeHost()
	m := newTestModel(t, f, 80, 24, 2, "")
	m = keys(m, "n", "down")
	m = typeText(m, "../x")
	m = keys(m, "down", "ctrl+u")
	m = typeText(m, "pid,bogus")
	m = keys(m, "ctrl+s")
	v := m.View()
	if f.spec != nil || !strings.Contains(v, `must not contain '/' or '..'`) || !strings.Contains(v, `unknown namespace "bogus"`) {
		t.Fatalf("bad name and namespace not reported in place (launched %v):\n%s", f.spec, v)
	}
	// Fix both and set a memory limit.
	m = keys(m, "up", "ctrl+u")
	m = typeText(m, "box")
	m = keys(m, "down", "ctrl+u")
	m = typeText(m, "pid,uts")
	m = keys(m, "down", "down")
	m = typeText(m, "32m")
	m = keys(m, "down", "down", "down", "down")
	m = typeText(m, "inside")
	m = keys(m, "ctrl+s")
	mem := cgroup.LimitOf(32 << 20)
	want := &sandbox.Spec{Name: "box", Command: []string{"sleep", "infinity"}, Namespaces: []sandbox.Namespace{"pid", "uts"},
		Resources: cgroup.Resources{MemoryMax: &mem}, Hostname: "inside", Network: "none"}
	if diff := cmp.Diff(want, f.spec, cmpopts.IgnoreUnexported(sandbox.Spec{})); diff != "" {
		t.Fatalf("launched spec (-want +got):\n%s", diff)
	}
	if m.form != nil || m.view != vSandboxes || !strings.Contains(m.View(), "launched sandbox box") {
		t.Errorf("after launch: form %v, view %d:\n%s", m.form != nil, m.view, m.View())
	}
}

// A launch failure stays in the form.
func TestNewSandboxFails(t *testing.T) {
	f := newFakeHost()
	m := newTestModel(t, f, 80, 24, 1, "")
	m = keys(m, "n", "down")
	m = typeText(m, "fail")
	m = keys(m, "ctrl+s")
	if m.form == nil || !strings.Contains(m.View(), "create cgroup /ctop/fail: permission denied") {
		t.Errorf("launch error not in the form:\n%s", m.View())
	}
}

// Stopping asks first, and stops only on yes.
func TestStopConfirms(t *testing.T) {
	f := newFakeHost()
	m := newTestModel(t, f, 80, 24, 1, "")
	m = keys(m, "5", "K")
	if !strings.Contains(m.View(), "Stop sandbox web?") {
		t.Fatalf("no confirmation:\n%s", m.View())
	}
	m = keys(m, "esc")
	if len(f.stopped) != 0 {
		t.Fatal("stopped without a yes")
	}
	keys(m, "K", "y")
	if diff := cmp.Diff([]string{"web"}, f.stopped); diff != "" {
		t.Errorf("stopped (-want +got):\n%s", diff)
	}
}

// Without root, the banner says why and actions explain instead of failing.
func TestReadOnly(t *testing.T) {
	f := newFakeHost()
	m := newTestModel(t, f, 80, 24, 1, "not running as root")
	if !strings.Contains(m.View(), "read-only: not running as root") {
		t.Errorf("no read-only banner:\n%s", m.View())
	}
	for _, k := range []string{"n", "u"} {
		m = keys(m, "j", k)
		if m.form != nil {
			t.Errorf("%s opened a form without root", k)
		}
		if !strings.Contains(m.View(), "needs root") {
			t.Errorf("%s did not explain that it needs root:\n%s", k, m.View())
		}
	}
	m = keys(m, "5", "K")
	if m.confirm != nil || len(f.stopped) != 0 {
		t.Error("stop offered without root")
	}
}

// The output of a sandbox is shown and esc goes back.
func TestOutput(t *testing.T) {
	m := newTestModel(t, newFakeHost(), 80, 24, 1, "")
	m = keys(m, "5", "o")
	if !strings.Contains(m.View(), "Serving HTTP on 0.0.0.0 port 8000") {
		t.Fatalf("output not shown:\n%s", m.View())
	}
	m = keys(m, "esc")
	if m.output != nil {
		t.Error("esc did not close the output")
	}
}

func TestSplitCommand(t *testing.T) {
	got := splitCommand(`sh -c 'echo hi; sleep 1' "a b" ''`)
	want := []string{"sh", "-c", "echo hi; sleep 1", "a b", ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// checkedLimits is a LimitSetter that owns only the groups under root, as
// ctop without root in a delegated subtree.
type checkedLimits struct {
	*fakeHost
	root string
}

func (c checkedLimits) CanSetLimits(path string) error {
	if strings.HasPrefix(path, c.root+"/") {
		return nil
	}
	return errors.New("changing the limits of " + path + " needs root")
}

// Without root, the limits form opens only for a group the user may
// change; for another the status line says why and nothing is applied.
func TestEditLimitsNotOwned(t *testing.T) {
	f := newFakeHost()
	src := f.sources()
	src.Limits = checkedLimits{f, "/user"}
	m := New(Options{Sources: src, Renderer: asciiRenderer(), Now: func() time.Time { return base }})
	m.ticker = func(int, time.Duration) tea.Cmd { return func() tea.Msg { return nil } }
	m = send(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	m = sampleNow(m)
	m = sampleNow(m)
	m = keys(m, "j", "j", "enter", "u") // /ctop/web: not under /user
	if m.form != nil {
		t.Fatal("u opened the limits form of a group the user does not own")
	}
	if v := m.View(); !strings.Contains(v, "changing the limits of /ctop/web needs root") {
		t.Errorf("no reason in the status line:\n%s", v)
	}
	src.Limits = checkedLimits{f, "/ctop"}
	m.ctx.Sources = src
	m = keys(m, "u")
	if m.form == nil {
		t.Error("u did not open the limits form of an owned group")
	}
}
