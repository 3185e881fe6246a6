package ui

import (
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/ctop-dev/ctop/cgroup"
)

// cgroupSort is the order of siblings (tree) or of all groups (flat).
type cgroupSort int

const (
	sortName cgroupSort = iota
	sortCPU
	sortMem
	sortIO
	sortPids
	sortThrottled
	sortCount
)

var cgroupSortNames = [sortCount]string{"name", "cpu", "memory", "io", "pids", "throttled"}

// column is one column of a table view; lower prio columns go first when
// the terminal is narrow.
type column struct {
	title string
	width int
	prio  int
}

var cgroupColumns = []column{
	{"PROCS", 5, 3},
	{"CPU%", 5, 9},
	{"%QUO", 4, 6},
	{"MEMORY", 15, 8},
	{"IO R/W", 9, 4},
	{"PIDS", 8, 5},
	{"THR%", 5, 7},
	{"PSI", 4, 2},
	{"EV", 2, 10},
}

// fitColumns keeps the columns that leave at least minFirst cells for the
// first (name) column, dropping the lowest priority first.
// columnHeader renders the titles of the kept columns, each padded to its
// width and followed by a space: left-aligned where left says so (text
// columns), right-aligned otherwise (numbers).
func columnHeader(cols []column, kept []int, left ...string) string {
	var b strings.Builder
	for _, i := range kept {
		c := cols[i]
		if slices.Contains(left, c.title) {
			b.WriteString(fit(c.title, c.width) + " ")
		} else {
			b.WriteString(fitRight(c.title, c.width) + " ")
		}
	}
	return b.String()
}

// marked is cols with the title of the sorted column marked by an arrow:
// ▲ ascending, ▼ descending.
func marked(cols []column, sorted string, up bool) []column {
	out := slices.Clone(cols)
	for i := range out {
		if out[i].title == sorted {
			out[i].title = sortArrow(up) + out[i].title
		}
	}
	return out
}

// sortArrow is the mark of a sorted column's header.
func sortArrow(up bool) string {
	if up {
		return "▲"
	}
	return "▼"
}

func fitColumns(cols []column, width, minFirst int) (kept []int, first int) {
	keep := make([]bool, len(cols))
	for i := range keep {
		keep[i] = true
	}
	for {
		used := 0
		for i, c := range cols {
			if keep[i] {
				used += c.width + 1
			}
		}
		first = width - used
		if first >= minFirst {
			break
		}
		drop, prio := -1, 1<<30
		for i, c := range cols {
			if keep[i] && c.prio < prio {
				drop, prio = i, c.prio
			}
		}
		if drop < 0 {
			break
		}
		keep[drop] = false
	}
	for i := range cols {
		if keep[i] {
			kept = append(kept, i)
		}
	}
	if first < 1 {
		first = 1
	}
	return kept, first
}

// groupRow is one visible row of the cgroups view.
type groupRow struct {
	g       *cgroup.Group
	depth   int
	hasKids bool
}

// cgroupsView is the tree (or flat list) of every cgroup.
type cgroupsView struct {
	ctx     *Context
	data    *store
	list    list
	rows    []groupRow
	selPath string
	open    map[string]bool // explicit expand/collapse, overriding depth
	flat    bool
	sortBy  cgroupSort
	reverse bool // against the natural order: names ascending, numbers descending
	filter  string
	// rawIDs shows directory names (64-digit ids) in place of names.
	rawIDs   bool
	height   int
	children map[string][]*cgroup.Group
	keys     cgroupsKeys
}

// cgroupsKeys are the Cgroups view's own keys.
type cgroupsKeys struct {
	navKeys
	Expand, Collapse, Open, Sort, Tree, Filter, Names key.Binding
	Reverse, ByName, ByCPU, ByMem                     key.Binding
}

func newCgroupsKeys(k KeyMap) cgroupsKeys {
	return cgroupsKeys{navKeys: k.nav(), Expand: k.Expand, Collapse: k.Collapse,
		Open: named(k.Open, "charts"), Sort: k.Sort, Tree: k.Tree, Filter: k.Filter, Names: k.Names,
		Reverse: k.Reverse, ByName: k.SortName, ByCPU: k.SortCPU, ByMem: k.SortMem}
}

// ShortHelp lists the keys that do most.
func (k cgroupsKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Open, k.Expand, k.Sort, k.Tree, k.Filter}
}

// FullHelp lists them all: moving, then the tree and its order.
func (k cgroupsKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{k.column(), {k.Expand, k.Collapse, k.Open, k.Sort, k.Tree, k.Filter, k.Names},
		{k.Reverse, k.ByName, k.ByCPU, k.ByMem}}
}

func newCgroupsView(ctx *Context, data *store) cgroupsView {
	return cgroupsView{ctx: ctx, data: data, open: map[string]bool{}, keys: newCgroupsKeys(ctx.Keys)}
}

// Title names the view.
func (v cgroupsView) Title() string { return "Cgroups" }

// Keys are the view's own keys.
func (v cgroupsView) Keys() help.KeyMap { return v.keys }

// Shows says the view shows cgroups, not processes.
func (v cgroupsView) Shows() (groups, procs bool) { return true, false }

// Refresh rebuilds the rows from the store.
func (v cgroupsView) Refresh() component {
	v.rebuild()
	return v
}

// Filter is the text the paths are filtered by.
func (v cgroupsView) Filter() string { return v.filter }

// SetFilter keeps the groups whose path holds f, with their ancestors.
func (v cgroupsView) SetFilter(f string) component {
	v.filter = f
	v.rebuild()
	return v
}

// SelectedGroup is the group under the cursor.
func (v cgroupsView) SelectedGroup() (path, target string) {
	if g := v.selected(); g != nil {
		return g.Path, g.Path
	}
	return "", ""
}

// selected is the group under the cursor, or nil.
func (v cgroupsView) selected() *cgroup.Group {
	if v.list.cursor < len(v.rows) && v.list.cursor >= 0 {
		return v.rows[v.list.cursor].g
	}
	return nil
}

// isOpen says whether a group's children are shown: the root and its
// children are open by default, deeper groups closed.
func (v cgroupsView) isOpen(p string, depth int) bool {
	if o, ok := v.open[p]; ok {
		return o
	}
	return depth < 2
}

func parentOf(p string) string {
	if p == "/" {
		return ""
	}
	return path.Dir(p)
}

// rebuild recomputes the visible rows from the store, keeping the cursor on
// the same group.
func (v *cgroupsView) rebuild() {
	v.rows = v.rows[:0]
	snap := v.data.snap
	if snap == nil {
		return
	}
	v.children = map[string][]*cgroup.Group{}
	for _, g := range snap.Groups {
		if par := parentOf(g.Path); par != "" {
			v.children[par] = append(v.children[par], g)
		}
	}
	match := func(g *cgroup.Group) bool {
		f := strings.ToLower(v.filter)
		return f == "" || strings.Contains(strings.ToLower(g.Path), f) || v.data.matchesName(g.Path, f)
	}
	if v.flat {
		var all []*cgroup.Group
		for _, g := range snap.Groups {
			if match(g) {
				all = append(all, g)
			}
		}
		v.sortGroups(all)
		for _, g := range all {
			v.rows = append(v.rows, groupRow{g: g})
		}
	} else {
		// With a filter, show matches and their ancestors, all open.
		keep := map[string]bool{}
		if v.filter != "" {
			for _, g := range snap.Groups {
				if match(g) {
					for p := g.Path; p != "" && !keep[p]; p = parentOf(p) {
						keep[p] = true
					}
				}
			}
		}
		var walk func(g *cgroup.Group, depth int)
		walk = func(g *cgroup.Group, depth int) {
			if v.filter != "" && !keep[g.Path] {
				return
			}
			kids := v.children[g.Path]
			v.rows = append(v.rows, groupRow{g: g, depth: depth, hasKids: len(kids) > 0})
			if len(kids) == 0 || (v.filter == "" && !v.isOpen(g.Path, depth)) {
				return
			}
			sorted := append([]*cgroup.Group(nil), kids...)
			v.sortGroups(sorted)
			for _, k := range sorted {
				walk(k, depth+1)
			}
		}
		for _, g := range snap.Groups {
			if parentOf(g.Path) == "" || v.data.byPath[parentOf(g.Path)] == nil {
				walk(g, 0)
			}
		}
	}
	for i, r := range v.rows {
		if r.g.Path == v.selPath {
			v.list.cursor = i
			break
		}
	}
	v.list.clamp(len(v.rows), v.height)
	if g := v.selected(); g != nil {
		v.selPath = g.Path
	}
}

func (v cgroupsView) sortGroups(gs []*cgroup.Group) {
	if v.sortBy == sortName {
		sort.SliceStable(gs, func(i, j int) bool { return (gs[i].Path < gs[j].Path) != v.reverse })
		return
	}
	key := func(g *cgroup.Group) float64 {
		r := v.data.rates[g.Path]
		switch v.sortBy {
		case sortCPU:
			return r.cpu
		case sortMem:
			return float64(g.Stats.Memory.Current.V)
		case sortIO:
			return r.read + r.write
		case sortPids:
			return float64(g.Stats.Pids.Current.V)
		case sortThrottled:
			return r.throttled
		}
		return 0
	}
	less := func(x, y *cgroup.Group) bool {
		a, b := key(x), key(y)
		if a != b {
			return a > b
		}
		return x.Path < y.Path
	}
	sort.SliceStable(gs, func(i, j int) bool {
		if v.reverse {
			return less(gs[j], gs[i])
		}
		return less(gs[i], gs[j])
	})
}

// sortOn sorts by s, or reverses the order when it already is by s (k9s).
func (v *cgroupsView) sortOn(s cgroupSort) {
	if v.sortBy == s {
		v.reverse = !v.reverse
	} else {
		v.sortBy, v.reverse = s, false
	}
	v.rebuild()
}

// Update handles the view's keys and esc, which clears its filter; the
// root handles the rest.
func (v cgroupsView) Update(msg tea.Msg) (component, tea.Cmd) {
	k := v.keys
	if sz, ok := msg.(tea.WindowSizeMsg); ok {
		v.height = max(sz.Height-1, 1)
		return v, nil
	}
	if v.list.move(k.navKeys, msg, len(v.rows), v.height, 1) {
		if g := v.selected(); g != nil {
			v.selPath = g.Path
		}
		return v, nil
	}
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return v, nil
	}
	g := v.selected()
	switch {
	case key.Matches(km, v.ctx.Keys.Back) && v.filter != "":
		v.filter = ""
		v.rebuild()
	case key.Matches(km, k.Expand) && g != nil && !v.flat:
		v.open[g.Path] = !v.isOpen(g.Path, v.rows[v.list.cursor].depth)
		v.rebuild()
	case key.Matches(km, k.Collapse) && g != nil && !v.flat:
		r := v.rows[v.list.cursor]
		if r.hasKids && v.isOpen(g.Path, r.depth) {
			v.open[g.Path] = false
		} else if par := parentOf(g.Path); v.data.byPath[par] != nil {
			v.selPath = par
		}
		v.rebuild()
	case key.Matches(km, k.Sort):
		v.sortBy, v.reverse = (v.sortBy+1)%sortCount, false
		v.rebuild()
	case key.Matches(km, k.Reverse):
		v.reverse = !v.reverse
		v.rebuild()
	case key.Matches(km, k.ByName):
		v.sortOn(sortName)
	case key.Matches(km, k.ByCPU):
		v.sortOn(sortCPU)
	case key.Matches(km, k.ByMem):
		v.sortOn(sortMem)
	case key.Matches(km, k.Tree):
		v.flat = !v.flat
		v.rebuild()
	case key.Matches(km, k.Names):
		v.rawIDs = !v.rawIDs
	case key.Matches(km, k.Open) && g != nil:
		p := g.Path
		return v, func() tea.Msg { return openDetailMsg{path: p} }
	}
	return v, nil
}

// View renders the header and the visible rows in w×h cells.
func (v cgroupsView) View(w, h int) string {
	v.height = h - 1
	st := v.ctx.Styles
	if v.data.snap == nil {
		msg := "reading cgroups…"
		if v.data.snapErr != nil {
			msg = v.data.snapErr.Error()
		}
		return fit(st.Faint.Render(msg), w)
	}
	kept, nameW := fitColumns(cgroupColumns, w, 14)
	var hdr strings.Builder
	// Names run ascending, numbers descending, unless reversed.
	up := (v.sortBy == sortName) != v.reverse
	title := "CGROUP"
	if v.sortBy == sortName {
		title = sortArrow(up) + title
	}
	hdr.WriteString(fit(title, nameW))
	sorted := map[cgroupSort]string{sortCPU: "CPU%", sortMem: "MEMORY", sortIO: "IO R/W", sortPids: "PIDS", sortThrottled: "THR%"}[v.sortBy]
	for _, i := range kept {
		t := cgroupColumns[i].title
		if t == sorted {
			t = sortArrow(up) + t
		}
		hdr.WriteString(" " + fitRight(t, cgroupColumns[i].width))
	}
	if len(v.rows) == 0 {
		return st.Header.Render(fit(hdr.String(), w)) + "\n" + st.Faint.Render("no cgroup matches "+v.filter)
	}
	body := v.list.render(v.ctx, len(v.rows), v.height, w, func(i int, sel bool) string {
		return v.row(v.rows[i], kept, nameW, sel)
	})
	return st.Header.Render(fit(hdr.String(), w)) + "\n" + body
}

// row renders one group's cells.
func (v *cgroupsView) row(r groupRow, kept []int, nameW int, sel bool) string {
	g := r.g
	st := v.ctx.Styles
	style := func(s lipgloss.Style, text string) string {
		if sel {
			return text
		}
		return s.Render(text)
	}
	var name string
	label := ""
	if !v.rawIDs && g.Path != "/" {
		label = v.data.names[g.Path].Label(path.Base(g.Path))
	}
	if v.flat {
		name = g.Path
		if label != "" {
			name = path.Join(path.Dir(g.Path), label)
		}
	} else {
		mark := "  "
		if r.hasKids {
			mark = "▸ "
			if v.filter != "" || v.isOpen(g.Path, r.depth) {
				mark = "▾ "
			}
		}
		base := path.Base(g.Path)
		if g.Path == "/" {
			base = "/"
		}
		if label != "" {
			base = label
		}
		name = strings.Repeat(" ", r.depth) + mark + base
	}
	var b strings.Builder
	if v.flat {
		b.WriteString(fitTail(name, nameW))
	} else {
		b.WriteString(fit(name, nameW))
	}
	rt := v.data.rates[g.Path]
	for _, i := range kept {
		c := cgroupColumns[i]
		var cell string
		switch c.title {
		case "PROCS":
			cell = fitRight(g.Procs.String(), c.width)
		case "CPU%":
			cell = "n/a"
			if rt.ok {
				cell = pct(rt.cpu)
			}
			cell = fitRight(cell, c.width)
		case "%QUO":
			cell = "-"
			if rt.quotaOK {
				cell = pct(rt.quota)
			}
			cell = fitRight(cell, c.width)
			if rt.quotaOK && rt.quota >= 90 {
				cell = style(st.Warn, cell)
			}
		case "MEMORY":
			cell = v.memCell(g, c.width, sel)
		case "IO R/W":
			cell = "-"
			if rt.ioOK {
				cell = humanBytes(rt.read) + "/" + humanBytes(rt.write)
			}
			cell = fitRight(cell, c.width)
		case "PIDS":
			cell = "n/a"
			if g.Stats.Pids.Current.OK {
				cell = g.Stats.Pids.Current.String() + "/" + g.Limits.Pids.String()
			}
			cell = fitRight(cell, c.width)
		case "THR%":
			cell = "-"
			if rt.thrOK {
				cell = pct(rt.throttled)
			}
			cell = fitRight(cell, c.width)
			if rt.thrOK && rt.throttled >= 5 {
				cell = style(st.Warn, cell)
			}
		case "PSI":
			cell = "-"
			if p := g.Stats.Pressure; p.CPU.OK || p.Memory.OK || p.IO.OK {
				m := max(p.CPU.Some.Avg10, p.Memory.Some.Avg10, p.IO.Some.Avg10)
				cell = pct(m)
			}
			cell = fitRight(cell, c.width)
		case "EV":
			ev := ""
			if e := g.Stats.Memory.Events.OOMKill; e.OK && e.V > 0 {
				ev += "O"
			}
			if e := g.Stats.Pids.MaxEvents; e.OK && e.V > 0 {
				ev += "P"
			}
			cell = style(st.Error, fit(ev, c.width))
		}
		b.WriteString(" " + cell)
	}
	return b.String()
}

// memCell is a usage bar against the limit and "used/limit".
func (v *cgroupsView) memCell(g *cgroup.Group, width int, sel bool) string {
	cur := g.Stats.Memory.Current
	if !cur.OK {
		return fitRight("n/a", width)
	}
	lim := g.Effective.Memory
	if !lim.OK {
		lim = g.Limits.Memory.Max
	}
	text := humanBytes(float64(cur.V)) + "/" + limitBytes(lim)
	barW := width - len(text) - 1
	if barW < 1 || !lim.Finite() {
		return fitRight(text, width)
	}
	frac := float64(cur.V) / float64(lim.V)
	if sel {
		n := int(frac*float64(barW) + 0.5)
		n = min(max(n, 0), barW)
		return strings.Repeat("█", n) + strings.Repeat("░", barW-n) + " " + text
	}
	return bar(v.ctx, frac, barW) + " " + text
}

// openDetailMsg asks the root to open the detail of a group.
type openDetailMsg struct{ path, sandbox string }
