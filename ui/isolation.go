package ui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/nsinfo"
)

// isolationMsg carries the isolation of a process, read off the UI goroutine.
type isolationMsg struct {
	pid int
	iso Isolation
	err error
}

func readIsolation(src IsolationSource, pid int) tea.Cmd {
	return func() tea.Msg {
		iso, err := src.Isolation(pid)
		return isolationMsg{pid: pid, iso: iso, err: err}
	}
}

// isolationView shows what separates one process from the host: each of
// the 8 namespaces shared or not, its pid inside, hostname, root, id maps,
// its cgroup and the limits in effect there.
type isolationView struct {
	ctx  *Context
	data *store
	pid  int
	iso  *Isolation
	err  error
}

func newIsolationView(ctx *Context, data *store) isolationView {
	return isolationView{ctx: ctx, data: data}
}

// Title names the view.
func (v isolationView) Title() string { return "Isolation" }

// Keys are the view's own keys: none, it is one page.
func (v isolationView) Keys() help.KeyMap { return noKeys{} }

// Shows says the view needs no sample of its own: it reads the isolation
// once, when opened.
func (v isolationView) Shows() (groups, procs bool) { return false, false }

// Refresh does nothing: the isolation is read when the view is opened.
func (v isolationView) Refresh() component { return v }

// Topics explain the first namespace the process does not share with the
// host.
func (v isolationView) Topics() []topic {
	first := nsinfo.Mnt
	if iso := v.iso; iso != nil {
		for _, t := range nsKinds() {
			if iso.NS.Get(t) != iso.Host.Get(t) {
				first = t
				break
			}
		}
	}
	return nsTopics(first)
}

// Update starts reading the isolation of the process it is asked to show,
// and takes it when it arrives.
func (v isolationView) Update(msg tea.Msg) (component, tea.Cmd) {
	switch m := msg.(type) {
	case openIsolationMsg:
		v.pid, v.iso, v.err = m.pid, nil, nil
		if v.ctx.Sources.Isolation == nil {
			v.err = fmt.Errorf("isolation information is not available")
			return v, nil
		}
		return v, readIsolation(v.ctx.Sources.Isolation, m.pid)
	case isolationMsg:
		if m.pid == v.pid {
			v.err = m.err
			if m.err == nil {
				iso := m.iso
				v.iso = &iso
			}
		}
	}
	return v, nil
}

// noKeys is the help of a view without keys of its own.
type noKeys struct{}

func (noKeys) ShortHelp() []key.Binding  { return nil }
func (noKeys) FullHelp() [][]key.Binding { return nil }

// effectiveLines name the tightest limits on the path to the group and
// where each is set.
func effectiveLines(g *cgroup.Group) (cpu, mem, pids string) {
	e := g.Effective
	from := func(s string) string {
		if s == "" {
			return ""
		}
		return " (set at " + s + ")"
	}
	cpu = "unlimited"
	if e.Cores > 0 {
		cpu = cores(e.Cores) + " CPUs" + from(e.CoresFrom)
	}
	mem = limitBytes(e.Memory)
	if e.Memory.Finite() {
		mem += from(e.MemFrom)
	}
	pids = e.Pids.String()
	if e.Pids.Finite() {
		pids += from(e.PidsFrom)
	}
	return cpu, mem, pids
}

// View renders the isolation in w×h cells.
func (v isolationView) View(w, h int) string {
	st := v.ctx.Styles
	if v.pid == 0 {
		return st.Faint.Render("Select a process (2) and press enter to see how it is isolated.")
	}
	if v.err != nil {
		return st.Error.Render(v.err.Error())
	}
	if v.iso == nil {
		return st.Faint.Render(fmt.Sprintf("reading process %d…", v.pid))
	}
	iso := v.iso
	nspid := "not in its own pid namespace"
	if iso.NSPid != 0 && iso.NSPid != iso.PID {
		nspid = "pid " + strconv.Itoa(iso.NSPid) + " inside its namespace"
	}
	lines := []string{
		st.Title.Render(fmt.Sprintf("process %d  %s", iso.PID, iso.Command)) + st.Faint.Render("  "+nspid),
		st.Faint.Render("compared with the host's namespaces, read from " + iso.HostFrom),
		st.Header.Render(fit("TYPE", 7) + fitRight("THIS", 11) + fitRight("HOST", 11) + "  "),
	}
	own, unknown := 0, 0
	for _, t := range nsKinds() {
		this, host := iso.NS.Get(t), iso.Host.Get(t)
		state := st.Faint.Render("shared with the host")
		switch {
		case !this.Known() || !host.Known():
			unknown++
			state = st.Faint.Render("unknown (not readable)")
		case this != host:
			own++
			state = st.Isolated.Render("OWN") + " " + nsShort[t]
		}
		lines = append(lines, fit(string(t), 7)+fitRight(this.String(), 11)+fitRight(host.String(), 11)+"  "+state)
	}
	lines = append(lines, "")
	kv := func(k, val string) {
		if val == "" {
			val = "n/a"
		}
		lines = append(lines, st.Header.Render(fit(k, 10))+val)
	}
	kv("hostname", iso.Hostname)
	kv("root", iso.Root)
	kv("uid map", strings.Join(strings.Fields(iso.UIDMap), " "))
	kv("gid map", strings.Join(strings.Fields(iso.GIDMap), " "))
	kv("cgroup", iso.Cgroup)
	if g := v.data.byPath[iso.Cgroup]; g != nil {
		cpu, mem, pids := effectiveLines(g)
		lines = append(lines, st.Header.Render("limits in effect (the tightest on the path from the root):"))
		kv("  cpu", cpu)
		kv("  memory", mem)
		kv("  pids", pids)
	}
	if own == 0 && unknown == 0 {
		lines = append(lines, "", st.Faint.Render("This process shares every namespace with the host: it is not isolated."))
	}
	return clampLines(strings.Join(lines, "\n"), w, h)
}

// nsShort says in a few words what having its own namespace of a type means.
var nsShort = map[nsinfo.Type]string{
	nsinfo.Mnt:    "its own mount table",
	nsinfo.PID:    "its own process numbers",
	nsinfo.Net:    "its own interfaces and ports",
	nsinfo.IPC:    "its own SysV IPC and message queues",
	nsinfo.UTS:    "its own hostname",
	nsinfo.User:   "its own uid/gid mapping",
	nsinfo.Cgroup: "its own view of the cgroup tree",
	nsinfo.Time:   "its own boot and monotonic clocks",
}
