package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/ui/chart"
)

// detailView charts one group over a sliding window, with its limits, the
// moments they changed and plain-words hints.
type detailView struct {
	ctx  *Context
	data *store
	path string
	// sandbox is set when the detail was opened from the Sandboxes view.
	sandbox string
	// first is the first chart row shown when not all fit.
	first int
	keys  detailKeys
}

// detailKeys are the Detail view's own keys: they scroll the charts when
// not all of them fit.
type detailKeys struct {
	Up, Down, PageUp, PageDown, Home key.Binding
}

// ShortHelp lists the keys that do most.
func (k detailKeys) ShortHelp() []key.Binding { return []key.Binding{k.Up, k.Down} }

// FullHelp lists them all.
func (k detailKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Home}}
}

func newDetailView(ctx *Context, data *store) detailView {
	k := ctx.Keys
	return detailView{ctx: ctx, data: data,
		keys: detailKeys{Up: k.Up, Down: k.Down, PageUp: k.PageUp, PageDown: k.PageDown, Home: k.Home}}
}

// Title names the view.
func (v detailView) Title() string { return "Detail" }

// Keys are the view's own keys.
func (v detailView) Keys() help.KeyMap { return v.keys }

// Shows says the view charts a cgroup.
func (v detailView) Shows() (groups, procs bool) { return true, false }

// Refresh does nothing: the charts are drawn from the store's history.
func (v detailView) Refresh() component { return v }

// SelectedGroup is the group charted, known by its sandbox's name when it
// is one.
func (v detailView) SelectedGroup() (path, target string) {
	if v.sandbox != "" {
		return v.path, v.sandbox
	}
	return v.path, v.path
}

// SelectedSandbox is the sandbox charted, or "".
func (v detailView) SelectedSandbox() string { return v.sandbox }

// Update takes the group to chart and scrolls the charts when not all of
// them fit.
func (v detailView) Update(msg tea.Msg) (component, tea.Cmd) {
	k := v.keys
	switch msg := msg.(type) {
	case openDetailMsg:
		v.path, v.sandbox = msg.path, msg.sandbox
		return v, nil
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, k.Down, k.PageDown):
			v.first++
		case key.Matches(msg, k.Up, k.PageUp):
			v.first--
		case key.Matches(msg, k.Home):
			v.first = 0
		}
	case tea.MouseMsg:
		switch msg.Button {
		case tea.MouseButtonWheelDown:
			v.first++
		case tea.MouseButtonWheelUp:
			v.first--
		}
	}
	v.first = min(max(v.first, 0), 2)
	return v, nil
}

// limitsLine summarises a group's limits as the CLI would set them.
func limitsLine(g *cgroup.Group) string {
	l := g.Limits
	cpu := "max"
	if c := l.CPU.Cores(); c > 0 {
		cpu = cores(c)
	} else if !l.CPU.Quota.OK {
		cpu = "n/a"
	}
	parts := []string{
		"cpus " + cpu,
		"memory.max " + limitBytes(l.Memory.Max),
	}
	if l.Memory.High.OK {
		parts = append(parts, "memory.high "+limitBytes(l.Memory.High))
	}
	parts = append(parts, "pids.max "+l.Pids.String())
	// The cpuset as configured: "" is inherited, so nothing to show.
	if l.CPU.Cpus != "" {
		parts = append(parts, "cpuset.cpus "+l.CPU.Cpus)
	}
	if l.CPU.Mems != "" {
		parts = append(parts, "cpuset.mems "+l.CPU.Mems)
	}
	for _, io := range l.IO {
		if io.WriteBps.Finite() {
			parts = append(parts, fmt.Sprintf("wbps %s %s/s", io.Device, humanBytes(float64(io.WriteBps.V))))
		}
		if io.ReadBps.Finite() {
			parts = append(parts, fmt.Sprintf("rbps %s %s/s", io.Device, humanBytes(float64(io.ReadBps.V))))
		}
		if io.WriteIOps.Finite() {
			parts = append(parts, fmt.Sprintf("wiops %s %d", io.Device, io.WriteIOps.V))
		}
		if io.ReadIOps.Finite() {
			parts = append(parts, fmt.Sprintf("riops %s %d", io.Device, io.ReadIOps.V))
		}
	}
	return strings.Join(parts, "  ")
}

// memoryLine is a group's memory as docker stats and the kubelet count it
// beside what the kernel charges: usage includes page cache the kernel
// drops first, the working set leaves the inactive part of it out.
func memoryLine(g *cgroup.Group) string {
	m := g.Stats.Memory
	if !m.Current.OK || !m.WorkingSet.OK {
		return "" // usage alone is in the chart already
	}
	parts := []string{"usage " + u64Bytes(m.Current)}
	if m.WorkingSet.OK {
		parts = append(parts, "working set "+u64Bytes(m.WorkingSet))
	}
	if m.File.OK {
		parts = append(parts, "page cache "+u64Bytes(m.File))
	}
	return strings.Join(parts, "  ")
}

// View renders the detail in w×h cells.
func (v detailView) View(w, h int) string {
	st := v.ctx.Styles
	g := v.data.byPath[v.path]
	if v.path == "" {
		return st.Faint.Render("Select a cgroup (1) or a sandbox (4) and press enter to see its charts.")
	}
	if g == nil {
		return st.Warn.Render(fmt.Sprintf("cgroup %s is gone (or not read yet).", v.path))
	}
	hist := v.data.hist[v.path]
	name := "cgroup " + g.Path
	if v.sandbox != "" {
		name = "sandbox " + v.sandbox + " (" + g.Path + ")"
	}
	lines := []string{
		fit(st.Title.Render(name)+st.Faint.Render("  controllers: "+strings.Join(g.Controllers, " ")), w),
		fit(st.Text.Render("limits: "+limitsLine(g)), w),
	}
	if ml := memoryLine(g); ml != "" {
		lines = append(lines, fit(st.Text.Render("memory: "+ml), w))
	}
	var hints []string
	for _, s := range diagnose(g, hist) {
		hints = append(hints, "• "+s)
	}
	var markLines []string
	if last, ok := hist.last(); ok {
		now := last.t()
		for i := len(hist.marks) - 1; i >= 0 && len(markLines) < 2; i-- {
			m := hist.marks[i]
			markLines = append(markLines, fmt.Sprintf("%s %s ago: %s", markRune(m.kind), now.Sub(m.t).Round(time.Second), m.what))
		}
	}
	hintText := ""
	if len(hints) > 0 {
		hintText = lipgloss.NewStyle().Width(w).Render(strings.Join(hints, "\n"))
	}
	hintH := 0
	if hintText != "" {
		hintH = strings.Count(hintText, "\n") + 1
	}
	// Charts get what is left, at least 5 lines a row.
	chartH := h - len(lines) - len(markLines) - hintH
	if chartH < 5 && hintH > 0 {
		hintH = max(0, h-len(lines)-len(markLines)-5)
		hintText = clampLines(hintText, w, hintH)
		chartH = h - len(lines) - len(markLines) - hintH
	}
	if chartH >= 5 {
		lines = append(lines, v.charts(g, hist, w, chartH))
	}
	if shown, total := v.chartRows(w, chartH); shown < total {
		markLines = append(markLines, fmt.Sprintf("charts: rows %d-%d of %d, ↑/↓ for more", min(v.first, total-shown)+1, min(v.first, total-shown)+shown, total))
	}
	for _, m := range markLines {
		lines = append(lines, fit(st.Faint.Render(m), w))
	}
	if hintH > 0 {
		lines = append(lines, st.Warn.Render(hintText))
	}
	return clampLines(strings.Join(lines, "\n"), w, h)
}

func markRune(k markKind) string {
	switch k {
	case markOOM:
		return "X"
	case markPids:
		return "!"
	}
	return "*"
}

// charts lays out the charts in a grid of two columns (one when narrow),
// as many rows as fit at 5 lines or more each.
func (v *detailView) charts(g *cgroup.Group, hist *history, w, h int) string {
	all := v.chartSet(g, hist)
	cols := 2
	if w < 60 {
		cols = 1
	}
	total := (len(all) + cols - 1) / cols
	rows := total
	for rows > 1 && h/rows < 7 {
		rows--
	}
	first := min(v.first, total-rows)
	all = all[first*cols : min(len(all), (first+rows)*cols)]
	cw := w / cols
	ch := h / rows
	var out []string
	for r := 0; r < rows; r++ {
		var row []string
		for c := 0; c < cols; c++ {
			i := r*cols + c
			if i >= len(all) {
				break
			}
			ct := all[i]
			ct.Width, ct.Height = cw-1, ch
			row = append(row, lipgloss.NewStyle().Width(cw).Render(ct.View()))
		}
		out = append(out, lipgloss.JoinHorizontal(lipgloss.Top, row...))
	}
	return strings.Join(out, "\n")
}

// chartRows is how many chart rows fit in h lines, and how many there are.
func (v *detailView) chartRows(w, h int) (shown, total int) {
	cols := 2
	if w < 60 {
		cols = 1
	}
	total = (6 + cols - 1) / cols
	shown = total
	for shown > 1 && h/shown < 7 {
		shown--
	}
	return shown, total
}

// chartSet builds the six charts from the history, in order of importance.
func (v *detailView) chartSet(g *cgroup.Group, hist *history) []chart.Chart {
	st := v.ctx.Styles
	window := float64(historyLen) * v.ctx.Interval.Seconds()
	if window <= 0 {
		window = historyLen
	}
	var pts []histPoint
	var marks []chart.Mark
	if hist != nil {
		pts = hist.points()
	}
	var now time.Time
	if len(pts) > 0 {
		now = pts[len(pts)-1].t()
	}
	if hist != nil {
		for _, m := range hist.marks {
			s := st.SeriesSoft
			if m.kind != markLimit {
				s = st.Error
			}
			marks = append(marks, chart.Mark{X: m.t.Sub(now).Seconds(), Rune: []rune(markRune(m.kind))[0], Style: s})
		}
	}
	series := func(name string, s lipgloss.Style, ok func(histPoint) bool, val func(histPoint) float64) chart.Series {
		out := chart.Series{Name: name, Style: s}
		for _, p := range pts {
			if ok(p) {
				out.Points = append(out.Points, chart.Point{X: p.t().Sub(now).Seconds(), Y: val(p)})
			}
		}
		return out
	}
	base := func(title string, yl func(float64) string) chart.Chart {
		return chart.Chart{Title: title, Window: window, YLabel: yl, Marks: marks, TitleStyle: st.Bold, AxisStyle: st.Faint}
	}
	var last histPoint
	if len(pts) > 0 {
		last = pts[len(pts)-1]
	}
	bytesLabel := func(f float64) string { return humanBytes(f) }
	pctLabel := func(f float64) string { return fmt.Sprintf("%.0f%%", f) }

	cpu := base("CPU cores", func(f float64) string { return cores(f) })
	cpu.Series = []chart.Series{series("used", st.SeriesUsage, func(p histPoint) bool { return p.cpuOK }, func(p histPoint) float64 { return float64(p.cpu) })}
	if last.quota > 0 {
		cpu.Lines = append(cpu.Lines, chart.Line{Name: "quota " + cores(float64(last.quota)), Y: float64(last.quota), Style: st.SeriesLimit})
	}

	mem := base("Memory", bytesLabel)
	mem.Series = []chart.Series{series("current", st.SeriesUsage, func(p histPoint) bool { return p.memOK }, func(p histPoint) float64 { return float64(p.mem) })}
	if last.high > 0 {
		mem.Lines = append(mem.Lines, chart.Line{Name: "high", Y: float64(last.high), Style: st.SeriesSoft})
	}
	if last.max > 0 {
		mem.Lines = append(mem.Lines, chart.Line{Name: "max", Y: float64(last.max), Style: st.SeriesLimit})
	}

	thr := base("Throttled % of periods", pctLabel)
	thr.YMax = 100
	thr.Series = []chart.Series{series("throttled", st.SeriesLimit, func(p histPoint) bool { return p.thrOK }, func(p histPoint) float64 { return float64(p.throttled) })}

	pids := base("Tasks (pids)", func(f float64) string { return fmt.Sprintf("%.0f", f) })
	pids.Series = []chart.Series{series("current", st.SeriesUsage, func(p histPoint) bool { return p.pidsOK }, func(p histPoint) float64 { return float64(p.pids) })}
	if last.pidsMax > 0 {
		pids.Lines = append(pids.Lines, chart.Line{Name: "max", Y: float64(last.pidsMax), Style: st.SeriesLimit})
	}

	io := base("IO bytes/s", bytesLabel)
	io.Series = []chart.Series{
		series("read", st.SeriesUsage, func(p histPoint) bool { return p.ioOK }, func(p histPoint) float64 { return float64(p.read) }),
		series("write", st.SeriesSecond, func(p histPoint) bool { return p.ioOK }, func(p histPoint) float64 { return float64(p.write) }),
	}
	for _, l := range g.Limits.IO {
		if l.WriteBps.Finite() {
			io.Lines = append(io.Lines, chart.Line{Name: "wbps " + l.Device.String(), Y: float64(l.WriteBps.V), Style: st.SeriesLimit})
		}
		if l.ReadBps.Finite() {
			io.Lines = append(io.Lines, chart.Line{Name: "rbps " + l.Device.String(), Y: float64(l.ReadBps.V), Style: st.SeriesLimit})
		}
	}

	psi := base("Pressure some avg10", pctLabel)
	psi.Series = []chart.Series{
		series("cpu", st.SeriesUsage, func(histPoint) bool { return g.Stats.Pressure.CPU.OK }, func(p histPoint) float64 { return float64(p.psiCPU) }),
		series("mem", st.SeriesSoft, func(histPoint) bool { return g.Stats.Pressure.Memory.OK }, func(p histPoint) float64 { return float64(p.psiMem) }),
		series("io", st.SeriesSecond, func(histPoint) bool { return g.Stats.Pressure.IO.OK }, func(p histPoint) float64 { return float64(p.psiIO) }),
	}
	return []chart.Chart{cpu, mem, thr, pids, io, psi}
}
