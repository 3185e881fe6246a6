package ui

import (
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

var sandboxColumns = []column{
	{"NAME", 14, 10},
	{"STATE", 8, 9},
	{"PID", 7, 5},
	{"CPU%", 5, 8},
	{"%QUO", 4, 4},
	{"MEMORY", 15, 7},
	{"PIDS", 8, 3},
	{"UP", 7, 6},
	// Who made the group (systemd, cgroupfs): the first to go when
	// narrow.
	{"MANAGER", 8, 2},
}

// sandboxesView lists the sandboxes ctop launched with their limits, usage
// and uptime.
type sandboxesView struct {
	ctx    *Context
	data   *store
	list   list
	height int
	now    func() time.Time
	keys   sandboxesKeys
}

// sandboxesKeys are the Sandboxes view's own keys; the actions on the
// selected sandbox (u, K, x, o) work in the Detail view too, and are the
// root's.
type sandboxesKeys struct {
	navKeys
	Open, Signal key.Binding
}

// ShortHelp lists the keys that do most.
func (k sandboxesKeys) ShortHelp() []key.Binding { return []key.Binding{k.Open, k.Signal} }

// FullHelp lists them all.
func (k sandboxesKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{k.column(), {k.Open, k.Signal}}
}

func newSandboxesView(ctx *Context, data *store, now func() time.Time) sandboxesView {
	k := ctx.Keys
	return sandboxesView{ctx: ctx, data: data, now: now,
		keys: sandboxesKeys{navKeys: k.nav(), Open: named(k.Open, "charts"), Signal: k.Signal}}
}

// Title names the view.
func (v sandboxesView) Title() string { return "Sandboxes" }

// Keys are the view's own keys.
func (v sandboxesView) Keys() help.KeyMap { return v.keys }

// Shows says the view shows the sandboxes' cgroups.
func (v sandboxesView) Shows() (groups, procs bool) { return true, false }

// Refresh does nothing: the rows are the store's sandboxes.
func (v sandboxesView) Refresh() component { return v }

// SelectedGroup is the cgroup of the selected sandbox, known by its name.
func (v sandboxesView) SelectedGroup() (path, target string) {
	if s := v.selected(); s != nil {
		return s.Cgroup, s.Name
	}
	return "", ""
}

// SelectedSandbox is the name of the selected sandbox.
func (v sandboxesView) SelectedSandbox() string {
	if s := v.selected(); s != nil {
		return s.Name
	}
	return ""
}

func (v sandboxesView) selected() *Sandbox {
	if v.list.cursor >= 0 && v.list.cursor < len(v.data.sandboxes) {
		return &v.data.sandboxes[v.list.cursor]
	}
	return nil
}

// Update handles navigation and enter; the root handles the actions.
func (v sandboxesView) Update(msg tea.Msg) (component, tea.Cmd) {
	k := v.keys
	if sz, ok := msg.(tea.WindowSizeMsg); ok {
		v.height = max(sz.Height-1, 1)
		return v, nil
	}
	if v.list.move(k.navKeys, msg, len(v.data.sandboxes), v.height, 1) {
		return v, nil
	}
	if km, ok := msg.(tea.KeyMsg); ok && key.Matches(km, k.Open) {
		if s := v.selected(); s != nil {
			sb := *s
			return v, func() tea.Msg { return openDetailMsg{path: sb.Cgroup, sandbox: sb.Name} }
		}
	}
	return v, nil
}

// uptime writes a duration as 45s, 12m, 3h05m.
func uptime(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	}
	h := int(d.Hours())
	return strconv.Itoa(h) + "h" + strconv.Itoa(int(d.Minutes())-60*h) + "m"
}

// View renders the sandbox table in w×h cells.
func (v sandboxesView) View(w, h int) string {
	v.height = h - 1
	st := v.ctx.Styles
	if v.ctx.Sources.Launcher == nil {
		return st.Faint.Render("sandboxes are not available in this build")
	}
	if v.data.sbErr != nil {
		return st.Error.Render(v.data.sbErr.Error())
	}
	if len(v.data.sandboxes) == 0 {
		msg := "No sandboxes. Press n to launch one: a command in its own namespaces, with cgroup limits."
		if v.ctx.ReadOnly != "" {
			msg = "No sandboxes. Launching one needs root."
		}
		return st.Faint.Render(msg)
	}
	kept, cmdW := fitColumns(sandboxColumns, w, 26)
	var hdr strings.Builder
	hdr.WriteString(columnHeader(sandboxColumns, kept, "NAME", "STATE", "MANAGER"))
	hdr.WriteString("LIMITS · COMMAND")
	cg := cgroupsView{ctx: v.ctx, data: v.data}
	body := v.list.render(v.ctx, len(v.data.sandboxes), v.height, w, func(i int, sel bool) string {
		s := v.data.sandboxes[i]
		g := v.data.byPath[s.Cgroup]
		r := v.data.rates[s.Cgroup]
		var b strings.Builder
		for _, ci := range kept {
			c := sandboxColumns[ci]
			cell := "-"
			switch c.title {
			case "NAME":
				cell = fit(s.Name, c.width)
			case "STATE":
				cell = s.State
				if !sel && s.State == "running" {
					cell = st.OK.Render(fit(cell, c.width))
				}
				cell = fit(cell, c.width)
			case "PID":
				cell = fitRight(strconv.Itoa(s.PID), c.width)
			case "CPU%":
				if r.ok {
					cell = pct(r.cpu)
				}
				cell = fitRight(cell, c.width)
			case "%QUO":
				if r.quotaOK {
					cell = pct(r.quota)
				}
				cell = fitRight(cell, c.width)
			case "MEMORY":
				if g != nil {
					cell = cg.memCell(g, c.width, sel)
				} else {
					cell = fitRight(cell, c.width)
				}
			case "PIDS":
				if g != nil && g.Stats.Pids.Current.OK {
					cell = g.Stats.Pids.Current.String() + "/" + g.Limits.Pids.String()
				}
				cell = fitRight(cell, c.width)
			case "UP":
				if !s.Started.IsZero() {
					cell = uptime(v.now().Sub(s.Started))
				}
				cell = fitRight(cell, c.width)
			case "MANAGER":
				if s.Manager != "" {
					cell = s.Manager
				}
				cell = fit(cell, c.width)
			}
			b.WriteString(cell + " ")
		}
		last := s.Command
		if l := liveLimits(v.data.byPath, g, s.Limits); l != "" {
			last = l + " · " + s.Command
		}
		b.WriteString(fit(last, cmdW))
		return b.String()
	})
	return st.Header.Render(fit(hdr.String(), w)) + "\n" + body
}
