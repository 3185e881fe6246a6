package ui

import (
	"strings"
	"testing"
)

// A key one view owns does nothing in another: t and s change the Cgroups
// view only there, i opens the isolation only from Processes.
func TestKeysGoToTheCurrentViewOnly(t *testing.T) {
	m := newTestModel(t, newFakeHost(), 80, 24, 2, "")
	before := m.View()
	m = keys(m, "5", "t", "s", "i", "right", "1")
	if c := cgroupsOf(m); c.flat || c.sortBy != sortName || len(c.rows) != 6 {
		t.Errorf("keys typed in Sandboxes changed the Cgroups view: flat %v, sort %s, %d rows", c.flat, cgroupSortNames[c.sortBy], len(c.rows))
	}
	if got := m.View(); got != before {
		t.Errorf("keys typed in Sandboxes changed the Cgroups view:\n%s", got)
	}
	m = keys(m, "i")
	if m.view != vCgroups {
		t.Errorf("i in Cgroups went to view %d; it is a key of Processes", m.view)
	}
	m = keys(m, "3", "t", "1")
	if cgroupsOf(m).flat {
		t.Error("t in Namespaces made the Cgroups view flat")
	}
	// And where they are owned, they work.
	m = keys(m, "t", "s")
	if c := cgroupsOf(m); !c.flat || c.sortBy != sortCPU {
		t.Errorf("t, s in Cgroups: flat %v, sort %s; want flat by cpu", c.flat, cgroupSortNames[c.sortBy])
	}
	m = keys(m, "2")
	m = sampleNow(m)
	m = keys(m, "i")
	if m.view != vIsolation {
		t.Errorf("i in Processes went to view %d, want the isolation", m.view)
	}
}

// ? lists the current view's own keys, then the keys of every view.
func TestHelpListsTheCurrentViewsKeys(t *testing.T) {
	cases := []struct {
		keys      []string
		has, hasn []string
	}{
		{nil, []string{"Keys in Cgroups", "→/space expand", "t       tree/flat", "/       filter"}, []string{"isolation", "Keys in Processes"}},
		{[]string{"2"}, []string{"Keys in Processes", "i     isolation", "enter isolation", "s     sort"}, []string{"expand", "collapse"}},
		{[]string{"3"}, []string{"Keys in Namespaces", "enter its processes"}, []string{"sort", "isolation"}},
		{[]string{"5"}, []string{"Keys in Sandboxes", "enter charts"}, []string{"sort", "filter", "expand"}},
		{[]string{"2", "enter"}, nil, []string{"Keys in", "sort"}},
	}
	for _, c := range cases {
		m := newTestModel(t, newFakeHost(), 80, 30, 2, "")
		m = keys(m, c.keys...)
		m = sampleNow(m)
		m = keys(m, "?")
		v := m.View()
		v = v[:strings.LastIndex(v, "\n")] // less the short help under every view
		for _, s := range append(c.has, "Keys everywhere", "u edit limits", "esc back", "q quit") {
			if !strings.Contains(v, s) {
				t.Errorf("keys %v then ?: no %q in\n%s", c.keys, s, v)
			}
		}
		for _, s := range c.hasn {
			if strings.Contains(v, s) {
				t.Errorf("keys %v then ?: %q should not be listed in\n%s", c.keys, s, v)
			}
		}
	}
}

// The filter is the current view's: a filter typed in Processes leaves the
// Cgroups view whole, comes back with Processes, and esc there clears it;
// / does nothing in a view that does not filter.
func TestFilterBelongsToTheCurrentView(t *testing.T) {
	m := newTestModel(t, newFakeHost(), 80, 24, 2, "")
	m = keys(m, "2")
	m = sampleNow(m)
	m = keys(m, "/")
	m = typeText(m, "web")
	m = keys(m, "enter")
	pv := m.views[vProcs].(procsView)
	if len(pv.rows) != 2 || pv.rows[0].p.Cgroup != "/ctop/web" || pv.rows[1].p.Cgroup != "/ctop/web" {
		t.Fatalf("filter web in Processes kept %d rows", len(pv.rows))
	}
	if !strings.Contains(m.View(), "filter: web (esc clears)") {
		t.Errorf("filter not shown:\n%s", m.View())
	}
	m = keys(m, "1")
	if c := cgroupsOf(m); c.filter != "" || len(c.rows) != 6 {
		t.Errorf("the Processes filter reached the Cgroups view: filter %q, %d rows", c.filter, len(c.rows))
	}
	if strings.Contains(m.View(), "filter:") {
		t.Errorf("the Cgroups view shows a filter:\n%s", m.View())
	}
	m = keys(m, "2")
	if !strings.Contains(m.View(), "filter: web") {
		t.Errorf("the Processes filter was lost:\n%s", m.View())
	}
	m = keys(m, "esc")
	if pv := m.views[vProcs].(procsView); pv.filter != "" || len(pv.rows) != 4 {
		t.Errorf("esc left filter %q and %d rows", pv.filter, len(pv.rows))
	}
	m = keys(m, "5", "/")
	if m.filtering {
		t.Error("/ opened a filter in Sandboxes, which does not filter")
	}
}
