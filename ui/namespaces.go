package ui

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ctop-dev/ctop/names"
	"github.com/ctop-dev/ctop/nsinfo"
)

// nsKinds lists the namespace kinds in the order the views show them
// (not nsinfo.Types()'s lsns order): the letters of the process table's NS
// column, the rows of the isolation view and the namespaces list follow it.
// The array is as long as nsinfo's set, so a kind added there and missing
// here does not compile.
func nsKinds() [len(nsinfo.NSSet{})]nsinfo.Type {
	return [...]nsinfo.Type{nsinfo.Mnt, nsinfo.PID, nsinfo.Net, nsinfo.IPC, nsinfo.UTS, nsinfo.User, nsinfo.Cgroup, nsinfo.Time}
}

// nsRank is t's position in nsKinds(), -1 for an unknown kind.
func nsRank(t nsinfo.Type) int {
	kinds := nsKinds()
	return slices.Index(kinds[:], t)
}

// nsKey identifies one namespace of one type.
type nsKey struct {
	typ nsinfo.Type
	id  nsinfo.ID
}

// nsGroup is a namespace as lsns shows it: its processes counted, and the
// lowest pid in it with that process's user and command.
type nsGroup struct {
	key    nsKey
	procs  int
	lowest *Process
	host   bool
}

var nsColumns = []column{
	{"TYPE", 6, 10},
	{"NS", 10, 9},
	{"NPROCS", 6, 8},
	{"PID", 7, 7},
	{"USER", 8, 5},
	{"", 4, 6}, // host mark
}

// groupNamespaces groups processes by namespace, ordered by type then
// inode, as lsns orders them.
func groupNamespaces(t ProcTable) []nsGroup {
	by := map[nsKey]*nsGroup{}
	for i := range t.Procs {
		p := &t.Procs[i]
		for _, typ := range nsKinds() {
			id := p.NS.Get(typ)
			if !id.Known() {
				continue
			}
			k := nsKey{typ, id}
			g := by[k]
			if g == nil {
				g = &nsGroup{key: k, host: t.Host.Get(typ) == id}
				by[k] = g
			}
			g.procs++
			if g.lowest == nil || p.PID < g.lowest.PID {
				g.lowest = p
			}
		}
	}
	out := make([]nsGroup, 0, len(by))
	for _, g := range by {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].key, out[j].key
		if a.typ != b.typ {
			return nsRank(a.typ) < nsRank(b.typ)
		}
		if a.id.Ino != b.id.Ino {
			return a.id.Ino < b.id.Ino
		}
		return a.id.Dev < b.id.Dev
	})
	return out
}

// namespacesView lists namespaces lsns-style; enter lists the processes of
// the selected one.
type namespacesView struct {
	ctx    *Context
	data   *store
	list   list
	groups []nsGroup
	sel    nsKey
	filter string
	height int
	// members shows the processes of sel when set.
	members *procsView
	keys    nsKeys
}

// nsKeys are the Namespaces view's own keys.
type nsKeys struct {
	navKeys
	Open, Filter key.Binding
}

// ShortHelp lists the keys that do most.
func (k nsKeys) ShortHelp() []key.Binding { return []key.Binding{k.Open, k.Filter} }

// FullHelp lists them all.
func (k nsKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.column(), {k.Open, k.Filter}} }

func newNamespacesView(ctx *Context, data *store) namespacesView {
	k := ctx.Keys
	return namespacesView{ctx: ctx, data: data,
		keys: nsKeys{navKeys: k.nav(), Open: named(k.Open, "its processes"), Filter: k.Filter}}
}

// Title names the view.
func (v namespacesView) Title() string { return "Namespaces" }

// Keys are the view's own keys: those of the process list while it shows
// the processes of one namespace (less /, which filters the namespaces).
func (v namespacesView) Keys() help.KeyMap {
	if v.members != nil {
		k := v.members.keys
		k.Filter = key.Binding{}
		return k
	}
	return v.keys
}

// SelectedProcess is the selected process of the namespace's list; nil
// while the namespaces are listed.
func (v namespacesView) SelectedProcess() *Process {
	if v.members != nil {
		return v.members.selected()
	}
	return nil
}

// Shows says the view shows processes, grouped by namespace.
func (v namespacesView) Shows() (groups, procs bool) { return false, true }

// Refresh rebuilds the list from the store.
func (v namespacesView) Refresh() component {
	v.rebuild()
	return v
}

// Filter is the text the namespaces are filtered by.
func (v namespacesView) Filter() string { return v.filter }

// SetFilter keeps the namespaces whose type, inode, or lowest process's
// command or user holds f.
func (v namespacesView) SetFilter(f string) component {
	v.filter = f
	v.rebuild()
	return v
}

// Topics explain the type of the selected namespace.
func (v namespacesView) Topics() []topic {
	if s := v.selected(); s != nil {
		return nsTopics(s.key.typ)
	}
	return nil
}

func (v *namespacesView) rebuild() {
	all := groupNamespaces(v.data.procs)
	v.groups = v.groups[:0]
	f := strings.ToLower(v.filter)
	for _, g := range all {
		if f != "" {
			text := string(g.key.typ) + " " + strconv.FormatUint(g.key.id.Ino, 10)
			if g.lowest != nil {
				text += " " + g.lowest.Command + " " + g.lowest.User
			}
			if !strings.Contains(strings.ToLower(text), f) && (g.lowest == nil || !v.data.matchesName(g.lowest.Cgroup, f)) {
				continue
			}
		}
		v.groups = append(v.groups, g)
	}
	for i, g := range v.groups {
		if g.key == v.sel {
			v.list.cursor = i
			break
		}
	}
	v.list.clamp(len(v.groups), v.height)
	if s := v.selected(); s != nil {
		v.sel = s.key
	}
	if v.members != nil {
		v.members.rebuild()
	}
}

func (v namespacesView) selected() *nsGroup {
	if v.list.cursor >= 0 && v.list.cursor < len(v.groups) {
		return &v.groups[v.list.cursor]
	}
	return nil
}

// Update handles the view's keys; esc leaves the member list, or else
// clears the filter.
func (v namespacesView) Update(msg tea.Msg) (component, tea.Cmd) {
	k := v.keys
	if sz, ok := msg.(tea.WindowSizeMsg); ok {
		v.height = max(sz.Height-1, 1)
		if v.members != nil {
			v.members.height = max(v.height-1, 1)
		}
		return v, nil
	}
	back := v.ctx.Keys.Back
	if v.members != nil {
		if km, ok := msg.(tea.KeyMsg); ok && key.Matches(km, back) {
			v.members = nil
			return v, nil
		}
		m, cmd := v.members.update(msg)
		v.members = &m
		return v, cmd
	}
	if v.list.move(k.navKeys, msg, len(v.groups), v.height, 1) {
		if s := v.selected(); s != nil {
			v.sel = s.key
		}
		return v, nil
	}
	if km, ok := msg.(tea.KeyMsg); ok && key.Matches(km, back) && v.filter != "" {
		v.filter = ""
		v.rebuild()
		return v, nil
	}
	if km, ok := msg.(tea.KeyMsg); ok && key.Matches(km, k.Open) {
		if s := v.selected(); s != nil {
			pv := newProcsView(v.ctx, v.data)
			only := s.key
			pv.only = &only
			pv.sortBy = procByPID
			pv.rebuild()
			pv.height = max(v.height-1, 1)
			v.members = &pv
		}
	}
	return v, nil
}

// View renders the namespace list, or the processes of one namespace.
func (v namespacesView) View(w, h int) string {
	st := v.ctx.Styles
	if v.members != nil {
		s := v.members.only
		title := st.Title.Render(string(s.typ)+" namespace "+strconv.FormatUint(s.id.Ino, 10)) + st.Faint.Render("  its processes (esc: back)")
		return fit(title, w) + "\n" + v.members.View(w, h-1)
	}
	v.height = h - 1
	if v.ctx.Sources.Procs == nil {
		return st.Faint.Render("namespace information is not available")
	}
	if len(v.data.procs.Procs) == 0 {
		msg := "reading namespaces…"
		if v.data.procErr != nil {
			msg = v.data.procErr.Error()
		}
		return st.Faint.Render(msg)
	}
	// The owner of a namespace: what its lowest pid runs in.
	cols := withContainer(nsColumns, "", func(yield func(names.Name) bool) {
		for _, g := range v.groups {
			if g.lowest != nil && !yield(v.data.owner(g.lowest.Cgroup)) {
				return
			}
		}
	})
	kept, cmdW := fitColumns(cols, w, 12)
	var hdr strings.Builder
	hdr.WriteString(columnHeader(cols, kept, "TYPE", "USER", "", "CONTAINER"))
	hdr.WriteString("COMMAND")
	body := v.list.render(v.ctx, len(v.groups), v.height, w, func(i int, sel bool) string {
		g := v.groups[i]
		var b strings.Builder
		for _, ci := range kept {
			c := cols[ci]
			switch c.title {
			case "CONTAINER":
				s := "-"
				if n := v.data.owner(g.lowest.Cgroup); n.Owns() {
					s = n.String()
				}
				b.WriteString(fit(s, c.width))
			case "TYPE":
				b.WriteString(fit(string(g.key.typ), c.width))
			case "NS":
				b.WriteString(fitRight(strconv.FormatUint(g.key.id.Ino, 10), c.width))
			case "NPROCS":
				b.WriteString(fitRight(strconv.Itoa(g.procs), c.width))
			case "PID":
				b.WriteString(fitRight(strconv.Itoa(g.lowest.PID), c.width))
			case "USER":
				b.WriteString(fit(g.lowest.User, c.width))
			case "":
				m := "own "
				if g.host {
					m = "host"
				}
				if !sel && g.host {
					m = st.Faint.Render(m)
				} else if !sel {
					m = st.Isolated.Render(m)
				}
				b.WriteString(m)
			}
			b.WriteByte(' ')
		}
		b.WriteString(fit(g.lowest.Command, cmdW))
		return b.String()
	})
	return st.Header.Render(fit(hdr.String(), w)) + "\n" + body
}
