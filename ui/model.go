// Package ui is ctop's terminal UI: the cgroup tree, processes, namespaces,
// sandboxes, a detail view with charts, the isolation of a process, and an
// explain panel that teaches what each number and namespace is.
//
// The ui reads through the small interfaces in sources.go and never touches
// the kernel itself; sampling runs in tea.Cmds started from a tick that is
// re-armed when it arrives, so the UI goroutine never waits on /proc or
// /sys.
package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/ctop-dev/ctop/ui/theme"

	"github.com/ctop-dev/ctop/nsinfo"
)

// intervals are the refresh steps + and - move through.
var intervals = []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second}

// Options configure the ui.
type Options struct {
	Sources Sources
	// Interval between samples; 1 s when zero.
	Interval time.Duration
	// ReadOnly, when not empty, says why actions are refused (e.g. not root).
	ReadOnly string
	// Renderer draws the styles; lipgloss's default when nil.
	Renderer *lipgloss.Renderer
	// Now is the clock for uptimes; time.Now when nil.
	Now func() time.Time
	// NoColor draws without colours (NO_COLOR): the cursor row and the
	// active tab are marked with reverse video and bold instead, so the
	// Renderer should be one that writes attributes (an ANSI profile).
	NoColor bool
}

type formKind int

const (
	formNew formKind = iota + 1
	formLimits
)

// Model is the root of the ui.
type Model struct {
	ctx  *Context
	data *store
	now  func() time.Time

	view, back view
	// views are the screens, indexed by view; the root dispatches to the
	// current one.
	views [viewCount]component

	help       help.Model
	showHelp   bool
	explain    *explainView
	form       *form
	formKind   formKind
	formTarget string
	confirm    *confirm
	output     *viewport.Model
	outputName string
	filtering  bool
	filterIn   textinput.Model
	// commanding: the : command line (k9s) has the keys.
	commanding bool
	cmdIn      textinput.Model
	signals    *signalMenu

	// ticker arms the next tick; tests replace it so no timer runs.
	// frame is the last screen drawn, shared by the copies of the model.
	frame *frame

	ticker    func(gen int, every time.Duration) tea.Cmd
	status    string
	statusErr bool
	frozen    bool
	tickGen   int
	inflight  bool
	procsRead bool
	groupsAt  time.Time // when the groups were last read
}

// New builds the ui.
func New(o Options) Model {
	r := o.Renderer
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	th := theme.Default()
	if o.NoColor {
		th = theme.NoColor()
	}
	ctx := &Context{
		Width: 80, Height: 24,
		Theme: th, Styles: theme.NewStyles(r, th), Renderer: r,
		Keys: DefaultKeyMap(), ReadOnly: o.ReadOnly, Interval: o.Interval, Sources: o.Sources,
	}
	data := newStore()
	fi := textinput.New()
	fi.Prompt = "/"
	fi.Cursor.SetMode(cursor.CursorStatic)
	ci := textinput.New()
	ci.Prompt = ":"
	ci.Cursor.SetMode(cursor.CursorStatic)
	h := help.New()
	h.Styles.ShortKey = ctx.Styles.Accent
	h.Styles.FullKey = ctx.Styles.Accent
	h.Styles.ShortDesc = ctx.Styles.Faint
	h.Styles.FullDesc = ctx.Styles.Faint
	return Model{
		ctx: ctx, data: data, now: o.Now,
		views: [viewCount]component{
			vCgroups:   newCgroupsView(ctx, data),
			vProcs:     newProcsView(ctx, data),
			vNS:        newNamespacesView(ctx, data),
			vNet:       newNetworkView(ctx),
			vSandboxes: newSandboxesView(ctx, data, o.Now),
			vDetail:    newDetailView(ctx, data),
			vIsolation: newIsolationView(ctx, data),
		},
		help:     h,
		filterIn: fi,
		cmdIn:    ci,
		frame:    &frame{},
		ticker:   tick,
	}
}

// Init starts the first sample and the tick.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.startSample(), m.ticker(m.tickGen, m.ctx.Interval))
}

// current is the view on screen.
func (m Model) current() component { return m.views[m.view] }

// needsProcs says whether the current view shows processes.
func (m Model) needsProcs() bool {
	_, procs := m.current().Shows()
	return procs
}

// groupsEvery is how often the cgroups are read while a view that does not
// show them (Processes, Namespaces, Isolation) is open: often enough to
// keep the charts' history going, rarely enough to leave the CPU to the
// process reads.
const groupsEvery = 5 * time.Second

func (m *Model) startSample() tea.Cmd {
	if m.inflight {
		return nil
	}
	m.inflight = true
	now := m.now()
	groups, _ := m.current().Shows()
	groups = groups || m.data.snap == nil || now.Sub(m.groupsAt) >= groupsEvery
	if groups {
		m.groupsAt = now
	}
	return sample(m.ctx.Sources, m.needsProcs(), groups)
}

// formFailed shows an action's error in its form, still open, or in the
// status line when the form is gone.
func (m *Model) formFailed(err error) {
	if m.form != nil {
		m.form.busy, m.form.err = "", err.Error()
		return
	}
	m.setStatus(err.Error(), true)
}

func (m *Model) setStatus(s string, isErr bool) { m.status, m.statusErr = s, isErr }

// layout tells every view the size of the body, for paging and scrolling
// (View cannot keep state: it has a value receiver).
func (m *Model) layout() {
	size := tea.WindowSizeMsg{Width: m.ctx.Width, Height: m.bodyHeight()}
	for i := range m.views {
		m.views[i], _ = m.views[i].Update(size)
	}
}

// rebuild refreshes the current view from the store; the others are
// rebuilt when they are switched to.
func (m *Model) rebuild() {
	m.layout()
	m.views[m.view] = m.current().Refresh()
}

// frame is a screen View drew, valid until the next message that may
// change it.
type frame struct {
	s     string
	valid bool
}

// Update handles a message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	// bubbletea draws the screen after every message; a tick only starts
	// a sample, so the screen after it is the one before, which costs a
	// whole frame each second to draw again (the sample's message right
	// after it draws the new one). Views with a sampler of their own may
	// change on a tick, and a frozen screen keeps its clocks going.
	if _, ok := msg.(tickMsg); m.frame != nil && (!ok || m.frozen || m.isSampler()) {
		m.frame.valid = false
	}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.ctx.Width, m.ctx.Height = msg.Width, msg.Height
		m.help.Width = msg.Width
		m.layout()
		return m, nil
	case tickMsg:
		if msg.gen != m.tickGen {
			return m, nil
		}
		cmds := []tea.Cmd{m.ticker(m.tickGen, m.ctx.Interval)}
		if !m.frozen {
			cmds = append(cmds, m.startSample(), m.sampleView())
		}
		return m, tea.Batch(cmds...)
	case sampleMsg:
		m.inflight = false
		m.data.apply(msg)
		if msg.snap != nil {
			m.ctx.Mode = msg.snap.Mode
		}
		if msg.withProcs {
			m.procsRead = true
		}
		m.rebuild()
		return m, nil
	case netMsg:
		return m, m.send(vNet, msg)
	case openDetailMsg:
		m.go2(vDetail)
		return m, m.send(vDetail, msg)
	case openIsolationMsg:
		m.go2(vIsolation)
		return m, m.send(vIsolation, msg)
	case isolationMsg:
		// It may arrive after the user has left the view: it is kept for
		// when they come back.
		return m, m.send(vIsolation, msg)
	case launchedMsg:
		if msg.err != nil {
			m.formFailed(msg.err)
			return m, nil
		}
		m.form = nil
		m.setStatus("launched sandbox "+msg.sb.Name, false)
		m.go2(vSandboxes)
		return m, m.startSample()
	case limitsSetMsg:
		if msg.err != nil {
			m.formFailed(msg.err)
			return m, nil
		}
		m.form = nil
		m.setStatus("limits of "+msg.target+" changed", false)
		return m, m.startSample()
	case stoppedMsg:
		if msg.err != nil {
			m.setStatus(msg.err.Error(), true)
		} else {
			m.setStatus("stopped sandbox "+msg.name, false)
		}
		return m, m.startSample()
	case signalledMsg:
		if msg.err != nil {
			m.setStatus(msg.err.Error(), true)
		} else {
			m.setStatus("sent "+msg.sig.String()+" to "+msg.what, false)
		}
		return m, m.startSample()
	case outputMsg:
		if msg.err != nil {
			m.setStatus(msg.err.Error(), true)
			return m, nil
		}
		vp := viewport.New(m.ctx.Width, max(m.bodyHeight()-1, 1))
		vp.SetContent(msg.text)
		vp.GotoBottom()
		m.output, m.outputName = &vp, msg.name
		return m, nil
	case shellDoneMsg:
		if msg.err != nil {
			m.setStatus("shell: "+msg.err.Error(), true)
		}
		return m, nil
	case tea.KeyMsg:
		if ks := m.burst(msg); ks != nil {
			return m.keyBurst(ks)
		}
		return m.key(msg)
	case tea.MouseMsg:
		return m.mouse(msg)
	}
	return m, nil
}

// burst splits keys typed faster than the terminal is read: bubbletea
// hands them over as one message of several runes, which would match no
// binding (jjj moves nowhere). Where a text input has focus the runes are
// text, and a paste stays a paste.
func (m Model) burst(msg tea.KeyMsg) []tea.KeyMsg {
	if msg.Type != tea.KeyRunes || len(msg.Runes) < 2 || msg.Paste || m.typing() {
		return nil
	}
	out := make([]tea.KeyMsg, len(msg.Runes))
	for i, r := range msg.Runes {
		out[i] = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt && i == 0}
	}
	return out
}

// keyBurst handles the keys of a burst in turn, as if typed one by one: a
// key that opens the filter makes the rest its text.
func (m Model) keyBurst(ks []tea.KeyMsg) (tea.Model, tea.Cmd) {
	var tm tea.Model = m
	cmds := make([]tea.Cmd, 0, len(ks))
	for _, k := range ks {
		var cmd tea.Cmd
		tm, cmd = tm.Update(k)
		cmds = append(cmds, cmd)
	}
	return tm, tea.Batch(cmds...)
}

// typing says whether a text input has the keys: the filter, the command
// line or a form's field.
func (m Model) typing() bool { return m.filtering || m.commanding || m.form != nil }

// drilledIn says whether v is opened from another view (the detail of a
// group, the isolation of a process), which esc goes back to: navigation
// between views is the root's, so it names them here.
func drilledIn(v view) bool { return v == vDetail || v == vIsolation }

// go2 switches to a view, remembering where esc goes back to.
func (m *Model) go2(v view) {
	if v == m.view {
		return
	}
	if drilledIn(v) && !drilledIn(m.view) {
		m.back = m.view
	}
	m.view = v
	m.filtering = false
	m.filterIn.SetValue(m.filterOf())
}

// send hands a message to one view, current or not.
func (m *Model) send(v view, msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	m.views[v], cmd = m.views[v].Update(msg)
	return cmd
}

// filterOf is the filter of the current view; "" when it has none.
func (m *Model) filterOf() string {
	if f, ok := m.current().(filterer); ok {
		return f.Filter()
	}
	return ""
}

// setFilter filters the current view, when it filters.
func (m *Model) setFilter(f string) {
	if v, ok := m.current().(filterer); ok {
		m.views[m.view] = v.SetFilter(f)
	}
}

// key handles a key press: overlays first, then the global keys, then the
// current view.
func (m Model) key(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	k := m.ctx.Keys
	if msg.String() == "ctrl+c" {
		return m, tea.Quit
	}
	switch {
	case m.confirm != nil:
		switch msg.String() {
		case "y", "Y", "enter":
			cmd := m.confirm.yes
			m.confirm = nil
			return m, cmd
		case "n", "N", "esc":
			m.confirm = nil
			if m.form != nil {
				m.form.busy = ""
			}
			m.setStatus("cancelled", false)
		}
		return m, nil
	case m.form != nil:
		if key.Matches(msg, k.Back) {
			m.form = nil
			return m, nil
		}
		f, cmd := m.form.Update(msg)
		m.form = &f
		if f.submit {
			m.form.submit = false
			return m, tea.Batch(cmd, m.submitForm())
		}
		return m, cmd
	case m.output != nil:
		if key.Matches(msg, k.Back, k.Quit) {
			m.output = nil
			return m, nil
		}
		vp, cmd := m.output.Update(msg)
		m.output = &vp
		return m, cmd
	case m.explain != nil:
		if key.Matches(msg, k.Back) && !m.explain.open || key.Matches(msg, k.Quit, k.Explain) {
			m.explain = nil
			return m, nil
		}
		e, cmd := m.explain.Update(msg)
		m.explain = &e
		return m, cmd
	case m.showHelp:
		if key.Matches(msg, k.Back, k.Help, k.Quit) {
			m.showHelp = false
		}
		return m, nil
	case m.signals != nil:
		return m.signalKey(msg)
	case m.commanding:
		switch msg.String() {
		case "enter":
			m.commanding = false
			return m.command(strings.TrimSpace(m.cmdIn.Value()))
		case "esc":
			m.commanding = false
		case "tab":
			m.cmdIn.SetValue(completeCommand(m.cmdIn.Value()))
			m.cmdIn.CursorEnd()
		default:
			var cmd tea.Cmd
			m.cmdIn, cmd = m.cmdIn.Update(msg)
			return m, cmd
		}
		return m, nil
	case m.filtering:
		switch msg.String() {
		case "enter":
			m.filtering = false
		case "esc":
			m.filtering = false
			m.filterIn.SetValue("")
			m.setFilter("")
		default:
			var cmd tea.Cmd
			m.filterIn, cmd = m.filterIn.Update(msg)
			m.setFilter(m.filterIn.Value())
			return m, cmd
		}
		return m, nil
	}

	switch {
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.showHelp = true
		return m, nil
	case key.Matches(msg, k.Explain):
		e := newExplainView(m.ctx, m.topics())
		m.explain = &e
		return m, nil
	case key.Matches(msg, k.Filter) && m.filters():
		m.filtering = true
		m.filterIn.SetValue(m.filterOf())
		m.filterIn.Focus()
		return m, nil
	case key.Matches(msg, k.Command):
		m.commanding = true
		m.cmdIn.SetValue("")
		m.cmdIn.Focus()
		return m, nil
	case key.Matches(msg, k.Signal):
		m.openSignals()
		return m, nil
	case key.Matches(msg, k.Back) && drilledIn(m.view):
		m.view = m.back
		m.rebuild()
		return m, nil
	case key.Matches(msg, k.Freeze):
		m.frozen = !m.frozen
		if m.frozen {
			m.setStatus("frozen: press f to resume", false)
		} else {
			m.setStatus("", false)
		}
		return m, nil
	case key.Matches(msg, k.Faster, k.Slower):
		i := 0
		for j, d := range intervals {
			if d == m.ctx.Interval {
				i = j
			}
		}
		if key.Matches(msg, k.Faster) {
			i = max(i-1, 0)
		} else {
			i = min(i+1, len(intervals)-1)
		}
		m.ctx.Interval = intervals[i]
		m.tickGen++
		m.setStatus("refresh every "+m.ctx.Interval.String(), false)
		return m, m.ticker(m.tickGen, m.ctx.Interval)
	case key.Matches(msg, k.NextView, k.PrevView):
		next := m.tab()
		if key.Matches(msg, k.NextView) {
			next = (next + 1) % tabCount
		} else {
			next = (next + tabCount - 1) % tabCount
		}
		return m, m.switchTo(view(next))
	case key.Matches(msg, k.View1, k.View2, k.View3, k.View4, k.View5, k.View6):
		return m, m.switchTo(view(msg.String()[0] - '1'))
	case key.Matches(msg, k.New):
		return m, m.newSandbox()
	case key.Matches(msg, k.Update):
		return m, m.editLimits()
	case key.Matches(msg, k.Stop):
		return m, m.stopSandbox()
	case key.Matches(msg, k.Shell):
		return m, m.shell()
	case key.Matches(msg, k.Output):
		return m, m.showOutput()
	}
	return m, m.toView(msg)
}

// switchTo changes view, sampling at once if it shows processes not read yet.
func (m *Model) switchTo(v view) tea.Cmd {
	m.go2(v)
	m.rebuild()
	if m.frozen {
		return nil
	}
	var cmd tea.Cmd
	if m.needsProcs() && !m.procsRead {
		cmd = m.startSample()
	}
	return tea.Batch(cmd, m.sampleView())
}

// sampleView starts the current view's own reading, when it has one.
func (m *Model) sampleView() tea.Cmd {
	s, ok := m.current().(sampler)
	if !ok {
		return nil
	}
	var cmd tea.Cmd
	m.views[m.view], cmd = s.Sample()
	return cmd
}

// filters says whether the current view filters its rows (and / opens
// the filter's input line).
func (m *Model) filters() bool {
	_, ok := m.current().(filterer)
	return ok
}

// toView hands a message to the current view.
func (m *Model) toView(msg tea.Msg) tea.Cmd { return m.send(m.view, msg) }

// mouse: a click on a tab switches to it; the rest goes to the view, with
// Y relative to the body.
func (m Model) mouse(msg tea.MouseMsg) (tea.Model, tea.Cmd) {
	if m.form != nil || m.confirm != nil || m.showHelp || m.signals != nil || m.commanding {
		return m, nil
	}
	if msg.Y == 0 && msg.Button == tea.MouseButtonLeft && msg.Action == tea.MouseActionPress {
		x := 0
		for i, name := range m.tabLabels() {
			w := lipgloss.Width(name) + 2
			if msg.X >= x && msg.X < x+w {
				return m, m.switchTo(view(i))
			}
			x += w
		}
		return m, nil
	}
	msg.Y -= m.bodyTop()
	if m.explain != nil {
		e, cmd := m.explain.Update(msg)
		m.explain = &e
		return m, cmd
	}
	if m.output != nil {
		vp, cmd := m.output.Update(msg)
		m.output = &vp
		return m, cmd
	}
	return m, m.toView(msg)
}

// selectedGroupTarget is the group the current view points at, and the
// name `ctop update` knows it by (a sandbox name or the group path).
func (m *Model) selectedGroupTarget() (path, target, sandbox string) {
	if g, ok := m.current().(groupPicker); ok {
		path, target = g.SelectedGroup()
	}
	if s, ok := m.current().(sandboxPicker); ok {
		sandbox = s.SelectedSandbox()
	}
	return path, target, sandbox
}

// needRoot explains, instead of failing, why an action is refused.
func (m *Model) needRoot(what string) bool {
	if m.ctx.ReadOnly == "" {
		return false
	}
	m.setStatus(what+" needs root: "+m.ctx.ReadOnly+". Run ctop as root (sudo ctop) to do it.", true)
	return true
}

func (m *Model) newSandbox() tea.Cmd {
	if m.needRoot("launching a sandbox") {
		return nil
	}
	if m.ctx.Sources.Launcher == nil {
		m.setStatus("sandboxes are not available in this build", true)
		return nil
	}
	f := newSandboxForm(m.ctx)
	m.form, m.formKind = &f, formNew
	return nil
}

func (m *Model) editLimits() tea.Cmd {
	path, target, _ := m.selectedGroupTarget()
	if path == "" {
		m.setStatus("select a cgroup or a sandbox to edit its limits", true)
		return nil
	}
	if m.needRoot("changing limits") {
		return nil
	}
	if m.ctx.Sources.Limits == nil {
		m.setStatus("changing limits is not available in this build", true)
		return nil
	}
	if c, ok := m.ctx.Sources.Limits.(LimitChecker); ok {
		if err := c.CanSetLimits(path); err != nil {
			m.setStatus(err.Error(), true)
			return nil
		}
	}
	g := m.data.byPath[path]
	if g == nil {
		m.setStatus("cgroup "+path+" is gone", true)
		return nil
	}
	f := limitsForm(m.ctx, g, target)
	m.form, m.formKind, m.formTarget = &f, formLimits, target
	return nil
}

func (m *Model) selectedSandbox() string {
	_, _, sb := m.selectedGroupTarget()
	return sb
}

func (m *Model) stopSandbox() tea.Cmd {
	name := m.selectedSandbox()
	if name == "" {
		if _, ok := m.current().(sandboxPicker); ok {
			m.setStatus("select a sandbox to stop", true)
		}
		return nil
	}
	if m.needRoot("stopping a sandbox") {
		return nil
	}
	l := m.ctx.Sources.Launcher
	m.confirm = &confirm{
		question: "Stop sandbox " + name + "? Its processes are killed, its cgroup, record and output removed.",
		yes: func() tea.Msg {
			return stoppedMsg{name: name, err: l.Stop(name)}
		},
	}
	return nil
}

func (m *Model) shell() tea.Cmd {
	name := m.selectedSandbox()
	if name == "" {
		return nil
	}
	if m.needRoot("entering a sandbox") {
		return nil
	}
	return tea.Exec(m.ctx.Sources.Launcher.Shell(name), func(err error) tea.Msg { return shellDoneMsg{err} })
}

func (m *Model) showOutput() tea.Cmd {
	name := m.selectedSandbox()
	if name == "" || m.ctx.Sources.Launcher == nil {
		return nil
	}
	l := m.ctx.Sources.Launcher
	return func() tea.Msg {
		text, err := l.Output(name)
		return outputMsg{name: name, text: text, err: err}
	}
}

// submitForm validates the form and, when it is good, starts the action.
func (m *Model) submitForm() tea.Cmd {
	f := m.form
	switch m.formKind {
	case formNew:
		spec, ok := validateSandbox(f)
		if !ok {
			return nil
		}
		f.busy = "launching…"
		l := m.ctx.Sources.Launcher
		return func() tea.Msg {
			sb, err := l.Launch(spec)
			return launchedMsg{sb: sb, err: err}
		}
	case formLimits:
		ls := m.ctx.Sources.Limits
		r, ok := limitChanges(f)
		if !ok {
			return nil
		}
		target := m.formTarget
		apply := func() tea.Msg {
			return limitsSetMsg{target: target, err: ls.SetLimits(target, r)}
		}
		f.busy = "applying…"
		path, _, _ := m.selectedGroupTarget()
		if g := m.data.byPath[path]; g != nil && g.Stats.Memory.Current.OK {
			if n := r.MemoryMax; n != nil && n.Finite() && n.V < g.Stats.Memory.Current.V {
				m.confirm = &confirm{
					question: fmt.Sprintf("Lower memory.max to %s, below the %s in use? The kernel will reclaim, and may OOM-kill a process.",
						humanBytes(float64(n.V)), humanBytes(float64(g.Stats.Memory.Current.V))),
					yes: apply,
				}
				return nil
			}
		}
		return apply
	}
	return nil
}

// topics are what the explain panel offers for the current selection.
func (m *Model) topics() []topic {
	if e, ok := m.current().(explainer); ok {
		if ts := e.Topics(); ts != nil {
			return ts
		}
	}
	path, _, sb := m.selectedGroupTarget()
	if g := m.data.byPath[path]; g != nil {
		ts := groupTopics(m.ctx, g, sb)
		if sb != "" {
			ts = append(ts, nsTopics(nsinfo.PID)...)
		}
		return ts
	}
	ts := nsTopics(nsinfo.Mnt)
	for _, c := range []string{"cpu", "memory", "pids", "io"} {
		ts = append(ts, topic{title: "The " + c + " controller", body: controllerExplain[c]})
	}
	return append(ts, topic{title: "cgroup v1, v2 and hybrid", body: controllerExplain["hierarchy"]})
}

// tab is the tab of the current view: a view without one (the isolation
// of a process) shows under the Detail tab.
func (m Model) tab() int {
	if int(m.view) >= tabCount {
		return int(vDetail)
	}
	return int(m.view)
}

// tabLabels are the tab titles, shortened when they would not leave room
// for the header's info (the mode, the interval or FROZEN) beside them.
func (m Model) tabLabels() []string {
	full := make([]string, tabCount)
	short := make([]string, tabCount)
	width := 0
	for i, v := range m.views[:tabCount] {
		n := v.Title()
		full[i] = fmt.Sprintf("%d %s", i+1, n)
		short[i] = fmt.Sprintf("%d %s", i+1, n[:4])
		width += lipgloss.Width(full[i]) + 2
	}
	switch {
	case m.ctx.Width < 50:
		for i := range short {
			short[i] = fmt.Sprintf("%d", i+1)
		}
		return short
	case width+1+lipgloss.Width(m.headerInfo()) > m.ctx.Width:
		return short
	}
	return full
}

// headerInfo is what the header shows right of the tabs: the cgroup mode
// and the refresh interval, or FROZEN.
func (m Model) headerInfo() string {
	info := m.ctx.Interval.String()
	if m.frozen {
		info = "FROZEN"
	}
	if m.ctx.Mode != 0 {
		info = m.ctx.Mode.String() + " " + info
	}
	return info
}

// bodyTop is the screen line where the body starts.
func (m Model) bodyTop() int {
	if m.ctx.ReadOnly != "" && m.ctx.Height >= 8 {
		return 2
	}
	return 1
}

// bodyHeight is the number of lines left for the body.
func (m Model) bodyHeight() int {
	h := m.ctx.Height - m.bodyTop() - 1 // status line
	if m.ctx.Height >= 10 {
		h-- // help line
	}
	return max(h, 0)
}

// View renders the whole screen, or returns the one it drew last when no
// message since may have changed it (see Update).
func (m Model) View() string {
	if m.frame == nil {
		return m.draw()
	}
	if !m.frame.valid {
		m.frame.s, m.frame.valid = m.draw(), true
	}
	return m.frame.s
}

// isSampler says whether the current view samples a source of its own.
func (m Model) isSampler() bool {
	_, ok := m.current().(sampler)
	return ok
}

// draw renders the whole screen.
func (m Model) draw() string {
	w, h := m.ctx.Width, m.ctx.Height
	if w < 1 || h < 1 {
		return ""
	}
	st := m.ctx.Styles
	if h < 3 || w < 20 {
		return clampLines("ctop: the terminal is too small", w, h)
	}
	var tabs strings.Builder
	for i, name := range m.tabLabels() {
		if i == m.tab() {
			tabs.WriteString(" " + st.TabActive.Render(name) + " ")
		} else {
			tabs.WriteString(" " + st.TabInactive.Render(name) + " ")
		}
	}
	info := m.headerInfo()
	gap := w - lipgloss.Width(tabs.String()) - lipgloss.Width(info) - 1
	header := tabs.String()
	if gap > 0 {
		header += strings.Repeat(" ", gap) + st.Faint.Render(info)
	}
	lines := []string{fit(header, w)}
	if m.bodyTop() == 2 {
		lines = append(lines, st.Banner.Render(fit("read-only: "+m.ctx.ReadOnly+"; looking works, changes need root", w)))
	}
	bh := m.bodyHeight()
	lines = append(lines, m.body(w, bh))

	var status string
	switch {
	case m.filtering:
		status = m.filterIn.View()
	case m.commanding:
		status = m.cmdIn.View()
	case m.confirm != nil:
		status = st.Warn.Render(m.confirm.question + " (y/n)")
	case m.status != "" && m.statusErr:
		status = st.Error.Render(m.status)
	case m.status != "":
		status = st.Faint.Render(m.status)
	case m.filterOf() != "":
		status = st.Faint.Render("filter: " + m.filterOf() + " (esc clears)")
	case m.data.snapErr != nil:
		status = st.Error.Render(m.data.snapErr.Error())
	}
	lines = append(lines, fit(status, w))
	if h >= 10 {
		lines = append(lines, fit(m.help.View(m.ctx.Keys), w))
	}
	return clampLines(strings.Join(lines, "\n"), w, h)
}

// body renders the overlay or the current view, exactly h lines high.
func (m Model) body(w, h int) string {
	var s string
	switch {
	case h <= 0:
		return ""
	case m.showHelp:
		s = m.helpView()
	case m.form != nil:
		s = m.form.View(w, h)
	case m.signals != nil:
		s = m.signals.View(m.ctx, w, h)
	case m.output != nil:
		m.output.Width, m.output.Height = w, max(h-1, 1)
		s = m.ctx.Styles.Title.Render("output of "+m.outputName+" (esc: back)") + "\n" + m.output.View()
	case m.explain != nil:
		s = m.explain.View(w, h)
	default:
		s = m.current().View(w, h)
	}
	s = clampLines(s, w, h)
	if n := strings.Count(s, "\n") + 1; n < h {
		s += strings.Repeat("\n", h-n)
	}
	return s
}

// helpView is the ? screen: the current view's own keys, then those that
// work everywhere.
func (m Model) helpView() string {
	st := m.ctx.Styles
	hm := m.help
	hm.ShowAll = true
	var b strings.Builder
	if own := hm.View(m.current().Keys()); own != "" {
		b.WriteString(st.Title.Render("Keys in "+m.current().Title()) + "\n\n" + own + "\n\n")
	}
	b.WriteString(st.Title.Render("Keys everywhere") + "\n\n" + hm.View(m.ctx.Keys) + "\n\n")
	b.WriteString(st.Faint.Render("e explains the selected number or namespace: where it is read and how to change it. esc closes."))
	return b.String()
}
