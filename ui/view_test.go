package ui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// Golden views at 80×24 with colours off, one per view, on the fake host
// after three samples.
func TestGoldenViews(t *testing.T) {
	cases := []struct {
		name string
		keys []string
	}{
		{"cgroups", nil},
		{"cgroups_flat_sorted", []string{"t", "s"}},
		{"detail", []string{"j", "j", "enter"}},
		{"processes", []string{"2"}},
		{"processes_tree", []string{"2", "t"}},
		{"namespaces", []string{"3"}},
		{"namespace_members", []string{"3", "j", "enter"}},
		{"sandboxes", []string{"5"}},
		{"isolation", []string{"2", "G", "enter"}},
		{"explain_quota", []string{"j", "j", "e", "j", "enter"}},
		{"help", []string{"?"}},
		{"limits_form", []string{"j", "j", "u"}},
		{"new_sandbox_form", []string{"n"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newTestModel(t, newFakeHost(), 80, 24, 3, "")
			for _, k := range c.keys {
				m = keys(m, k)
				if m.needsProcs() && !m.procsRead {
					m = sampleNow(m)
				}
			}
			got := m.View()
			if n := strings.Count(got, "\n") + 1; n != 24 {
				t.Errorf("view has %d lines, want 24", n)
			}
			golden(t, c.name, got)
		})
	}
}

// Every view at every small size renders without a panic and within the
// terminal.
func TestTinySizes(t *testing.T) {
	views := [][]string{nil, {"j", "j", "enter"}, {"2"}, {"3"}, {"4"}, {"5"}, {"2", "enter"}, {"e"}, {"?"}, {"n"}, {"j", "j", "u"}}
	for _, ks := range views {
		m := newTestModel(t, newFakeHost(), 80, 24, 3, "not root")
		for _, k := range ks {
			m = keys(m, k)
			m = sampleNow(m)
		}
		for w := 0; w <= 100; w += 7 {
			for h := 0; h <= 30; h += 3 {
				m = send(m, tea.WindowSizeMsg{Width: w, Height: h})
				m = keys(m, "j", "k")
				v := m.View()
				lines := strings.Split(v, "\n")
				if h > 0 && len(lines) > h {
					t.Errorf("keys %v at %dx%d: %d lines", ks, w, h, len(lines))
				}
				for _, l := range lines {
					if lw := len([]rune(stripANSI(l))); lw > w && w > 0 {
						t.Errorf("keys %v at %dx%d: line %q is %d wide", ks, w, h, l, lw)
						break
					}
				}
			}
		}
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '\x1b':
			in = true
		case in && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// A wide Sandboxes view says who made each sandbox's group; a narrow one
// drops that column first.
func TestSandboxesManager(t *testing.T) {
	h := newFakeHost()
	h.sbs[0].Manager = "systemd"
	m := newTestModel(t, h, 160, 24, 3, "")
	m = keys(m, "5")
	v := stripANSI(m.View())
	if !strings.Contains(v, "MANAGER") || !strings.Contains(v, "systemd") {
		t.Errorf("sandboxes at 160 wide: no MANAGER column with systemd:\n%s", v)
	}
	m = send(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	if v := stripANSI(m.View()); strings.Contains(v, "MANAGER") {
		t.Errorf("sandboxes at 80 wide keep MANAGER:\n%s", v)
	}
}
