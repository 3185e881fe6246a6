package ui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ctop-dev/ctop/names"
)

const webID = "36219a26d5030d0b6f5e8d2b7e38c1d3a2f0c4e5b6a798011223344556677889"

// fakeNames says that a docker container runs in the fake host's /ctop/web
// (the ui does not care where a name comes from) and counts its calls.
type fakeNames struct {
	m     map[string]names.Name
	asked []string
}

func (f *fakeNames) Names(paths []string) map[string]names.Name {
	out := map[string]names.Name{}
	for _, p := range paths {
		f.asked = append(f.asked, p)
		if n, ok := f.m[p]; ok {
			out[p] = n
		}
	}
	return out
}

func newNamedModel(t *testing.T) (Model, *fakeNames) {
	t.Helper()
	fn := &fakeNames{m: map[string]names.Name{
		"/ctop/web": {Kind: names.KindContainer, Runtime: names.RuntimeDocker, ID: webID, ShortID: webID[:12],
			Name: "shop-web-1", Image: "nginx:1.27", Project: "shop", Service: "web"},
		"/system.slice":              names.Parse("/system.slice"),
		"/system.slice/sshd.service": names.Parse("/system.slice/sshd.service"),
	}}
	f := newFakeHost()
	src := f.sources()
	src.Names = fn
	m := New(Options{Sources: src, Renderer: asciiRenderer(), Now: func() time.Time { return base }})
	m.ticker = func(int, time.Duration) tea.Cmd { return func() tea.Msg { return nil } }
	m = send(m, tea.WindowSizeMsg{Width: 140, Height: 24})
	for i := 0; i < 2; i++ {
		m = sampleNow(m)
	}
	return m, fn
}

func TestCgroupsTreeNames(t *testing.T) {
	m, fn := newNamedModel(t)
	if !strings.Contains(strings.Join(fn.asked, " "), "/ctop/web") {
		t.Fatalf("the ui did not ask names for the snapshot's groups: %q", fn.asked)
	}
	v := m.View()
	if !strings.Contains(v, "shop-web-1 (docker 36219a26d503)") {
		t.Errorf("cgroups tree does not name the container:\n%s", v)
	}
	if strings.Contains(v, "▸ web") || strings.Contains(v, "  web ") {
		t.Errorf("cgroups tree still shows the directory name:\n%s", v)
	}
	raw := keys(m, "R").View()
	if strings.Contains(raw, "shop-web-1") || !strings.Contains(raw, " web") {
		t.Errorf("R does not switch to raw directory names:\n%s", raw)
	}
	if back := keys(m, "R", "R").View(); !strings.Contains(back, "shop-web-1") {
		t.Errorf("N twice does not bring the names back:\n%s", back)
	}
	flat := keys(m, "t").View()
	if !strings.Contains(flat, "shop-web-1 (docker 36219a26d503)") {
		t.Errorf("flat list does not name the container:\n%s", flat)
	}
}

func TestFilterMatchesNames(t *testing.T) {
	m, _ := newNamedModel(t)
	for _, f := range []string{"shop-web", "nginx", "36219a26"} {
		got := keys(m, append([]string{"/"}, append(strings.Split(f, ""), "enter")...)...).View()
		if !strings.Contains(got, "shop-web-1") || strings.Contains(got, "sshd.service") {
			t.Errorf("cgroups filter %q does not keep the container alone:\n%s", f, got)
		}
		procs := keys(m, append([]string{"2", "/"}, append(strings.Split(f, ""), "enter")...)...)
		procs = sampleNow(procs)
		pv := procs.View()
		if !strings.Contains(pv, "python3 -m http") || strings.Contains(pv, "sshd") {
			t.Errorf("processes filter %q does not keep the container's processes:\n%s", f, pv)
		}
	}
}

func TestProcessesAndNamespacesShowContainer(t *testing.T) {
	m, _ := newNamedModel(t)
	m = sampleNow(keys(m, "2"))
	v := m.View()
	if !strings.Contains(v, "CONTAINER") {
		t.Fatalf("processes view has no CONTAINER column:\n%s", v)
	}
	for _, line := range strings.Split(v, "\n") {
		if strings.Contains(line, "http.server") && !strings.Contains(line, "shop-web-1") {
			t.Errorf("the container's process does not name it: %q", line)
		}
		if strings.Contains(line, "sshd") && strings.Contains(line, "shop-web-1") {
			t.Errorf("sshd is named as the container: %q", line)
		}
	}
	m = sampleNow(keys(m, "3"))
	v = m.View()
	if !strings.Contains(v, "CONTAINER") || !strings.Contains(v, "shop-web-1") {
		t.Errorf("namespaces view does not name the owner of the container's namespaces:\n%s", v)
	}
}

// Without a name source (or with no container), the views keep their
// columns: the golden files pin that.
func TestNoContainerColumnWithoutContainers(t *testing.T) {
	m := newTestModel(t, newFakeHost(), 100, 24, 2, "")
	if v := sampleNow(keys(m, "2")).View(); strings.Contains(v, "CONTAINER") {
		t.Errorf("CONTAINER column with no name source:\n%s", v)
	}
}
