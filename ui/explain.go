package ui

import (
	"fmt"
	"path"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/nsinfo"
	"github.com/ctop-dev/ctop/sandbox"
)

// topic is one thing the explain panel can explain.
type topic struct {
	title string
	// body is what it is, in plain words.
	body string
	// file is the kernel file the number was read from, when it is a number.
	file string
	// change lists commands that would change it.
	change []string
}

// explainView lets the user pick a topic and then shows it.
type explainView struct {
	ctx    *Context
	topics []topic
	list   list
	open   bool
	height int
}

func newExplainView(ctx *Context, topics []topic) explainView {
	return explainView{ctx: ctx, topics: topics}
}

// Update moves in the picker; enter opens a topic, esc goes back (the root
// closes the panel when esc arrives with no topic open).
func (v explainView) Update(msg tea.Msg) (explainView, tea.Cmd) {
	k := v.ctx.Keys
	if !v.open && v.list.update(k, msg, len(v.topics), v.height, 1) {
		return v, nil
	}
	if km, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(km, k.Open) && !v.open && len(v.topics) > 0:
			v.open = true
		case key.Matches(km, k.Back) && v.open:
			v.open = false
		}
	}
	return v, nil
}

// View renders the picker, or the open topic.
func (v *explainView) View(w, h int) string {
	st := v.ctx.Styles
	if !v.open {
		v.height = h - 1
		head := st.Title.Render("Explain: pick what to explain (enter), esc to close")
		body := v.list.render(v.ctx, len(v.topics), v.height, w, func(i int, sel bool) string {
			if sel {
				return "› " + v.topics[i].title
			}
			return "  " + v.topics[i].title
		})
		return fit(head, w) + "\n" + body
	}
	t := v.topics[v.list.cursor]
	para := lipgloss.NewStyle().Width(max(w-2, 1))
	parts := []string{st.Title.Render(t.title), para.Render(t.body)}
	if t.file != "" {
		parts = append(parts, "", st.Header.Render("Read from"), "  "+t.file)
	}
	if len(t.change) > 0 {
		parts = append(parts, "", st.Header.Render("To change it"))
		for _, c := range t.change {
			parts = append(parts, para.Render("  "+c))
		}
	}
	parts = append(parts, "", st.Faint.Render("esc: back to the list"))
	return clampLines(strings.Join(parts, "\n"), w, h)
}

// groupFile is the host path of a group's kernel file: the v1 controller's
// hierarchy, or the v2 tree.
func groupFile(ctx *Context, g *cgroup.Group, v1ctl, v1file, v2file string) string {
	src := ctx.Sources.Groups
	v2 := ctx.Mode == cgroup.ModeUnified
	if ctx.Mode == cgroup.ModeHybrid && v1file == "" {
		v2 = true // only the v2 mount has it (pressure)
	}
	if v2 || v1file == "" {
		name := v2file
		if src != nil {
			if dir, ok := src.Dir("", g.Path); ok {
				return path.Join(dir, name)
			}
		}
		return path.Join("/sys/fs/cgroup", g.Path, name)
	}
	if src != nil {
		if dir, ok := src.Dir(v1ctl, g.Path); ok {
			return path.Join(dir, v1file)
		}
	}
	return path.Join("/sys/fs/cgroup", v1ctl, g.Path, v1file)
}

// unitOf is the systemd unit a group path names, if any.
func unitOf(p string) string {
	b := path.Base(p)
	for _, s := range []string{".service", ".scope", ".slice"} {
		if strings.HasSuffix(b, s) {
			return b
		}
	}
	return "UNIT"
}

// groupTopics lists what can be explained about a group: its numbers, then
// its controllers and the hierarchy layout.
func groupTopics(ctx *Context, g *cgroup.Group, sb string) []topic {
	v2 := ctx.Mode == cgroup.ModeUnified
	target := g.Path
	if sb != "" {
		target = sb
	}
	unit := unitOf(g.Path)
	f := func(ctl, v1, v2f string) string { return groupFile(ctx, g, ctl, v1, v2f) }
	write := func(file, value string) string { return fmt.Sprintf("echo %s > %s", value, file) }

	// The files an option of ctop run and update writes, from its table.
	optFile := func(name string, i int) string {
		fs := sandbox.Lookup(name).Files
		return f(fs.Controller, fs.V1[i], fs.V2[min(i, len(fs.V2)-1)])
	}
	quotaFile := optFile("cpus", 0)
	quotaWrite := write(quotaFile, "'50000 100000'")
	if !v2 {
		quotaWrite = write(quotaFile, "50000") + "   (period in " + path.Base(optFile("cpus", 1)) + ")"
	}
	memMax := optFile("memory", 0)
	var ts []topic
	ts = append(ts,
		topic{"CPU usage (CPU%)", "CPU time used by the group's processes per second of wall time, as a percent of one core (200% is two cores busy). The kernel counts it cumulatively; ctop divides the change by the interval.",
			f("cpuacct", "cpuacct.usage", "cpu.stat (usage_usec)"), nil},
		topic{"CPU quota (%QUO, the quota line)", "The quota lets the group run QUOTA microseconds in every PERIOD, across all CPUs: 50000/100000 is half a core. %QUO is the usage as a percent of that.",
			quotaFile, []string{quotaWrite, "ctop update " + target + " --cpus 0.5", "systemctl set-property " + unit + " CPUQuota=50%", "docker update --cpus 0.5 CONTAINER"}},
		topic{"Throttling (THR%)", "The share of scheduling periods in which the group used up its quota and had to wait for the next period. High throttling with low average use means bursts: the group needs more CPU for short moments than its quota gives it per period.",
			f("cpu", "cpu.stat (nr_periods, nr_throttled)", "cpu.stat (nr_periods, nr_throttled)"), []string{"raise the quota: ctop update " + target + " --cpus 2"}},
		topic{"Memory usage (MEMORY)", "Memory charged to the group: its processes' anonymous memory plus the page cache and kernel memory they caused. Cache is reclaimed first when the group reaches its limit.",
			f("memory", "memory.usage_in_bytes", "memory.current"), nil},
		topic{"Memory limit (memory.max)", "The hard limit. At it the kernel reclaims the group's memory; when it cannot free enough, the OOM killer ends a process in the group.",
			memMax, []string{write(memMax, "256M"), "ctop update " + target + " --memory 256m", "systemctl set-property " + unit + " MemoryMax=256M", "docker update --memory 256m CONTAINER"}},
	)
	if v2 {
		high := f("memory", "", "memory.high")
		ts = append(ts, topic{"Memory high (memory.high)", "The soft limit. Above it the kernel throttles the group and reclaims its memory hard, but does not kill: usage held at high means the group is slowed down for lack of memory.",
			high, []string{write(high, "200M"), "systemctl set-property " + unit + " MemoryHigh=200M", "docker has no flag for it"}})
	}
	pidsMax := optFile("pids-limit", 0)
	ts = append(ts,
		topic{"Tasks (PIDS)", "The number of processes and threads in the group and its descendants, against pids.max. At the limit fork() fails with EAGAIN.",
			f("pids", "pids.current", "pids.current"), []string{write(pidsMax, "100"), "ctop update " + target + " --pids-limit 100", "systemctl set-property " + unit + " TasksMax=100", "docker update --pids-limit 100 CONTAINER"}},
		topic{"IO rates (IO R/W)", "Bytes read and written per second on all block devices, from the cumulative per-device counters. On v1 only direct IO is counted per group.",
			f("blkio", "blkio.throttle.io_service_bytes", "io.stat"), []string{
				write(optFile("device-write-bps", 0), map[bool]string{true: "'8:0 wbps=1048576'", false: "'8:0 1048576'"}[v2]),
				"ctop update " + target + " --device-write-bps /dev/sda:1mb", "systemctl set-property " + unit + " IOWriteBandwidthMax='/dev/sda 1M'", "docker run --device-write-bps /dev/sda:1mb (not changeable by docker update)"}},
		topic{"Pressure (PSI)", "The share of the last 10 seconds in which at least one of the group's tasks waited for CPU, memory or IO (the highest of the three is shown). It says how much the group is held back, whatever the cause.",
			f("", "", "cpu.pressure, memory.pressure, io.pressure"), nil},
		topic{"Events (EV)", "O: the OOM killer has ended processes in this group (memory.events oom_kill). P: forks were refused at pids.max (pids.events max). The detail's charts mark each new one.",
			f("memory", "memory.oom_control (oom_kill)", "memory.events, pids.events"), nil},
		topic{"Processes (PROCS)", "The processes whose cgroup is exactly this group (its cgroup.procs); descendants are counted in their own groups.",
			f("memory", "cgroup.procs", "cgroup.procs"), []string{"move a process in: echo PID > " + f("memory", "cgroup.procs", "cgroup.procs")}},
	)
	for _, c := range g.Controllers {
		if t, ok := controllerExplain[c]; ok {
			ts = append(ts, topic{title: "The " + c + " controller", body: t})
		}
	}
	ts = append(ts, topic{title: "cgroup v1, v2 and hybrid (this host: " + ctx.Mode.String() + ")", body: controllerExplain["hierarchy"]})
	return ts
}

// nsTopics explains each namespace type, first the one given.
func nsTopics(first nsinfo.Type) []topic {
	var ts []topic
	kinds := nsKinds()
	order := append([]nsinfo.Type{first}, kinds[:]...)
	seen := map[nsinfo.Type]bool{}
	for _, t := range order {
		if nsRank(t) < 0 || seen[t] {
			continue
		}
		seen[t] = true
		ts = append(ts, topic{title: "The " + string(t) + " namespace", body: nsExplain[t],
			file: "/proc/PID/ns/" + string(t) + " (a link naming the namespace by inode; compare with lsns)"})
	}
	return ts
}
