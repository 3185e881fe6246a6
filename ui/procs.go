package ui

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ctop-dev/ctop/names"
	"github.com/ctop-dev/ctop/nsinfo"
)

// procSort is the order of the flat process list.
type procSort int

const (
	procByCPU procSort = iota
	procByMem
	procByPID
	procSortCount
)

var procSortNames = [procSortCount]string{"cpu", "memory", "pid"}

var procColumns = []column{
	{"PID", 7, 10},
	{"NSPID", 5, 3},
	{"USER", 8, 4},
	{"CPU%", 5, 8},
	{"MEM", 5, 7},
	{"mpniuUct", 8, 9},
	{"CGROUP", 18, 6},
}

// containerColumn names the container, pod or sandbox a process runs in;
// the views show it only when some process runs in one.
var containerColumn = column{"CONTAINER", 16, 5}

// withContainer returns cols with the CONTAINER column before the column
// titled before, when any of owners is a container, pod or sandbox.
func withContainer(cols []column, before string, owners func(yield func(names.Name) bool)) []column {
	for n := range owners {
		if n.Owns() {
			i := slices.IndexFunc(cols, func(c column) bool { return c.title == before })
			return slices.Insert(slices.Clone(cols), i, containerColumn)
		}
	}
	return cols
}

// procRow is a visible process and, in the tree, the lines that draw its
// place (htop's "├─ ").
type procRow struct {
	p      *Process
	prefix string
}

// procsView lists processes with their cgroup and their 8 namespaces,
// non-host ones highlighted; flat (sorted) or as the process tree.
type procsView struct {
	ctx    *Context
	data   *store
	list   list
	rows   []procRow
	selPID int
	tree   bool
	sortBy procSort
	// reverse runs the sort against its natural order (pid ascending, the
	// others descending).
	reverse bool
	filter  string
	// only, when set, keeps the processes in one namespace.
	only   *nsKey
	height int
	keys   procsKeys
	// cols are the columns for the rows, chosen by rebuild: looking up
	// every process's owner at each frame cost more than drawing it.
	cols []column
	// sortBuf is sortProcs's scratch, kept between rebuilds (thousands of
	// processes sort on every sample).
	sortBuf *[]procKey
}

// procsKeys are the Processes view's own keys.
type procsKeys struct {
	navKeys
	Open, Isolation, Sort, Tree, Filter key.Binding
	Reverse, ByPID, ByCPU, ByMem        key.Binding
	Signal                              key.Binding
}

func newProcsKeys(k KeyMap) procsKeys {
	return procsKeys{navKeys: k.nav(), Open: named(k.Open, "isolation"), Isolation: k.Isolation,
		Sort: k.Sort, Tree: k.Tree, Filter: k.Filter, Reverse: k.Reverse,
		ByPID: named(k.SortName, "sort by pid"), ByCPU: k.SortCPU, ByMem: k.SortMem, Signal: k.Signal}
}

// ShortHelp lists the keys that do most.
func (k procsKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Open, k.Sort, k.Tree, k.Filter, k.Signal}
}

// FullHelp lists them all: moving, then the process's isolation and the
// order.
func (k procsKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{k.column(), {k.Open, k.Isolation, k.Sort, k.Tree, k.Filter},
		{k.Reverse, k.ByPID, k.ByCPU, k.ByMem, k.Signal}}
}

func newProcsView(ctx *Context, data *store) procsView {
	return procsView{ctx: ctx, data: data, keys: newProcsKeys(ctx.Keys), sortBuf: new([]procKey)}
}

// Title names the view.
func (v procsView) Title() string { return "Processes" }

// Keys are the view's own keys.
func (v procsView) Keys() help.KeyMap { return v.keys }

// Shows says the view shows processes; their cgroups are read less often.
func (v procsView) Shows() (groups, procs bool) { return false, true }

// Refresh rebuilds the rows from the store.
func (v procsView) Refresh() component {
	v.rebuild()
	return v
}

// Filter is the text the processes are filtered by.
func (v procsView) Filter() string { return v.filter }

// SetFilter keeps the processes whose command, user or cgroup holds f, or
// whose pid is f.
func (v procsView) SetFilter(f string) component {
	v.filter = f
	v.rebuild()
	return v
}

// Topics explain the first namespace the selected process does not share
// with the host, and its cgroup.
func (v procsView) Topics() []topic {
	p := v.selected()
	if p == nil {
		return nil
	}
	first := nsinfo.Mnt
	for _, t := range nsKinds() {
		if p.NS.Get(t) != v.data.procs.Host.Get(t) {
			first = t
			break
		}
	}
	ts := nsTopics(first)
	if g := v.data.byPath[p.Cgroup]; g != nil {
		ts = append(ts, groupTopics(v.ctx, g, "")...)
	}
	return ts
}

// SelectedProcess is the process under the cursor, for the signal menu.
func (v procsView) SelectedProcess() *Process { return v.selected() }

func (v procsView) selected() *Process {
	if v.list.cursor >= 0 && v.list.cursor < len(v.rows) {
		return v.rows[v.list.cursor].p
	}
	return nil
}

func (v procsView) match(p *Process) bool {
	if v.only != nil && p.NS.Get(v.only.typ) != v.only.id {
		return false
	}
	if v.filter == "" {
		return true
	}
	f := strings.ToLower(v.filter)
	return strings.Contains(strings.ToLower(p.Command), f) || strings.Contains(strings.ToLower(p.User), f) ||
		strings.Contains(strings.ToLower(p.Cgroup), f) || strconv.Itoa(p.PID) == f || v.data.matchesName(p.Cgroup, f)
}

// rebuild recomputes the visible rows, keeping the cursor on the same pid.
// The tree (unfiltered) puts children under their parent, siblings in the
// current order.
func (v *procsView) rebuild() {
	v.rows = v.rows[:0]
	procs := v.data.procs.Procs
	if v.showsTree() {
		idx := make(map[int]int, len(procs))
		for i := range procs {
			idx[procs[i].PID] = i
		}
		kids := map[int][]*Process{}
		var roots []*Process
		for i := range procs {
			if _, ok := idx[procs[i].PPID]; ok && procs[i].PPID != procs[i].PID {
				kids[procs[i].PPID] = append(kids[procs[i].PPID], &procs[i])
			} else {
				roots = append(roots, &procs[i])
			}
		}
		v.sortProcs(roots)
		// walk draws htop's lines: lead is what the rows below p carry for
		// its ancestors, last whether p is its parent's last child.
		var walk func(p *Process, lead string, last, root bool)
		walk = func(p *Process, lead string, last, root bool) {
			prefix, below := "", ""
			if !root {
				prefix, below = lead+"├─ ", lead+"│  "
				if last {
					prefix, below = lead+"└─ ", lead+"   "
				}
			}
			v.rows = append(v.rows, procRow{p, prefix})
			k := kids[p.PID]
			v.sortProcs(k)
			for i, c := range k {
				walk(c, below, i == len(k)-1, false)
			}
		}
		for _, r := range roots {
			walk(r, "", true, true)
		}
	} else {
		var ps []*Process
		for i := range procs {
			if v.match(&procs[i]) {
				ps = append(ps, &procs[i])
			}
		}
		v.sortProcs(ps)
		for _, p := range ps {
			v.rows = append(v.rows, procRow{p: p})
		}
	}
	for i, r := range v.rows {
		if r.p.PID == v.selPID {
			v.list.cursor = i
			break
		}
	}
	v.list.clamp(len(v.rows), v.height)
	if p := v.selected(); p != nil {
		v.selPID = p.PID
	}
	v.cols = withContainer(procColumns, "CGROUP", func(yield func(names.Name) bool) {
		for _, r := range v.rows {
			if !yield(v.data.owner(r.p.Cgroup)) {
				return
			}
		}
	})
}

// showsTree says whether the rows are the tree: a filter shows the
// matches flat, as does the list of one namespace.
func (v procsView) showsTree() bool { return v.tree && v.filter == "" && v.only == nil }

// procKey is a process and what it sorts by.
type procKey struct {
	p   *Process
	cpu float64
}

// sortProcs orders ps by the current sort: cpu and memory highest first,
// pid lowest first, all the other way round when reversed; ties by pid.
func (v procsView) sortProcs(ps []*Process) {
	if len(ps) < 2 {
		return
	}
	// Each process's rate is looked up once, not at every comparison:
	// thousands of processes sort on every sample.
	var ks []procKey
	if v.sortBuf != nil {
		ks = (*v.sortBuf)[:0]
	}
	for _, p := range ps {
		k := procKey{p: p}
		if v.sortBy == procByCPU {
			k.cpu = v.data.procCPU[p.PID]
		}
		ks = append(ks, k)
	}
	// Pids are unique, so the order is total and needs no stable sort.
	slices.SortFunc(ks, func(a, b procKey) int {
		if v.reverse {
			a, b = b, a
		}
		switch v.sortBy {
		case procByCPU:
			if c := cmp.Compare(b.cpu, a.cpu); c != 0 {
				return c
			}
		case procByMem:
			if c := cmp.Compare(b.p.RSS, a.p.RSS); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.p.PID, b.p.PID)
	})
	for i, k := range ks {
		ps[i] = k.p
	}
	if v.sortBuf != nil {
		clear(ks) // hold no table of processes past its time
		*v.sortBuf = ks[:0]
	}
}

// sortOn sorts by s, or reverses the order when it already is by s (k9s).
func (v *procsView) sortOn(s procSort) {
	if v.sortBy == s {
		v.reverse = !v.reverse
	} else {
		v.sortBy, v.reverse = s, false
	}
	v.rebuild()
}

// Update handles the view's keys and esc, which clears its filter.
func (v procsView) Update(msg tea.Msg) (component, tea.Cmd) { return v.update(msg) }

// update is Update for the namespaces view, which lists the processes of
// one namespace with a procsView of its own.
func (v procsView) update(msg tea.Msg) (procsView, tea.Cmd) {
	k := v.keys
	if sz, ok := msg.(tea.WindowSizeMsg); ok {
		v.height = max(sz.Height-1, 1)
		return v, nil
	}
	if v.list.move(k.navKeys, msg, len(v.rows), v.height, 1) {
		if p := v.selected(); p != nil {
			v.selPID = p.PID
		}
		return v, nil
	}
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return v, nil
	}
	switch {
	case key.Matches(km, v.ctx.Keys.Back) && v.filter != "":
		v.filter = ""
		v.rebuild()
	case key.Matches(km, k.Sort):
		v.sortBy, v.reverse = (v.sortBy+1)%procSortCount, false
		v.rebuild()
	case key.Matches(km, k.Reverse):
		v.reverse = !v.reverse
		v.rebuild()
	case key.Matches(km, k.ByPID):
		v.sortOn(procByPID)
	case key.Matches(km, k.ByCPU):
		v.sortOn(procByCPU)
	case key.Matches(km, k.ByMem):
		v.sortOn(procByMem)
	case key.Matches(km, k.Tree):
		v.tree = !v.tree
		v.rebuild()
	case key.Matches(km, k.Open, k.Isolation):
		if p := v.selected(); p != nil {
			pid := p.PID
			return v, func() tea.Msg { return openIsolationMsg{pid: pid} }
		}
	}
	return v, nil
}

// nsCells draws the 8 namespaces as letters: a letter where the process
// has its own namespace (highlighted), a dot where it shares the host's.
func nsCells(ctx *Context, p *Process, host nsinfo.NSSet, sel bool) string {
	const letters = "mpniuUct"
	var b strings.Builder
	for i, t := range nsKinds() {
		this, h := p.NS.Get(t), host.Get(t)
		switch {
		case !this.Known() || !h.Known():
			b.WriteByte('?')
		case this != h:
			if sel {
				b.WriteByte(letters[i])
			} else {
				b.WriteString(ctx.Styles.Isolated.Render(string(letters[i])))
			}
		default:
			b.WriteString("·")
		}
	}
	return b.String()
}

// View renders the process table in w×h cells.
func (v procsView) View(w, h int) string {
	v.height = h - 1
	st := v.ctx.Styles
	if v.ctx.Sources.Procs == nil {
		return st.Faint.Render("process information is not available")
	}
	if len(v.data.procs.Procs) == 0 {
		msg := "reading processes…"
		if v.data.procErr != nil {
			msg = v.data.procErr.Error()
		}
		return st.Faint.Render(msg)
	}
	cols := v.cols
	if cols == nil {
		cols = procColumns
	}
	kept, cmdW := fitColumns(cols, w, 16)
	var hdr strings.Builder
	sorted := [procSortCount]string{procByCPU: "CPU%", procByMem: "MEM", procByPID: "PID"}[v.sortBy]
	// pid's natural order is ascending, the others' descending.
	up := (v.sortBy == procByPID) != v.reverse
	hdr.WriteString(columnHeader(marked(cols, sorted, up), kept, "USER", "CGROUP", "mpniuUct", "CONTAINER"))
	mode := "COMMAND  sort:" + procSortNames[v.sortBy]
	if v.showsTree() {
		mode = "COMMAND (tree)" // the arrow says the siblings' order
	}
	hdr.WriteString(mode)
	body := v.list.render(v.ctx, len(v.rows), v.height, w, func(i int, sel bool) string {
		r := v.rows[i]
		p := r.p
		var b strings.Builder
		for _, ci := range kept {
			c := cols[ci]
			switch c.title {
			case "CONTAINER":
				s := "-"
				if n := v.data.owner(p.Cgroup); n.Owns() {
					s = n.String()
				}
				b.WriteString(fit(s, c.width))
			case "PID":
				b.WriteString(fitRight(strconv.Itoa(p.PID), c.width))
			case "NSPID":
				s := "-"
				if p.NSPid != 0 && p.NSPid != p.PID {
					s = strconv.Itoa(p.NSPid)
				}
				b.WriteString(fitRight(s, c.width))
			case "USER":
				b.WriteString(fit(p.User, c.width))
			case "CPU%":
				b.WriteString(fitRight(pct(v.data.procCPU[p.PID]), c.width))
			case "MEM":
				b.WriteString(fitRight(humanBytes(float64(p.RSS)), c.width))
			case "mpniuUct":
				b.WriteString(nsCells(v.ctx, p, v.data.procs.Host, sel))
			case "CGROUP":
				b.WriteString(fitTail(p.Cgroup, c.width))
			}
			b.WriteByte(' ')
		}
		b.WriteString(fit(r.prefix+p.Command, cmdW))
		return b.String()
	})
	return st.Header.Render(fit(hdr.String(), w)) + "\n" + body
}

// openIsolationMsg asks the root to show the isolation of a process.
type openIsolationMsg struct{ pid int }
