package sandbox

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
)

// FormatBytes writes n in binary units: "32 MiB", "512 B".
func FormatBytes(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 || v == float64(int64(v)) {
		return strconv.FormatFloat(v, 'f', -1, 64) + " " + units[i]
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}

// Summary writes limits the way ctop run takes them, for ls and reports:
// those r sets on a new group, through the option table (see Format).
func Summary(r cgroup.Resources) string { return Format(LimitsOf(r)) }

// Report returns one line per limit the sandbox ran into, read from its
// cgroup's counters when it ended: the OOM killer (v2 memory.events
// oom_kill, v1 memory.oom_control oom_kill), forks refused (pids.events
// max), and heavy CPU throttling (cpu.stat: throttled in at least half of
// its periods).
func (r Result) Report(name string) []string {
	g := r.Group
	if g == nil {
		return nil
	}
	var out []string
	mem := g.Stats.Memory
	if mem.Events.OOMKill.V > 0 {
		limit := "its memory limit"
		if l := g.Limits.Memory.Max; l.Finite() {
			limit = "its " + FormatBytes(l.V) + " memory limit"
		}
		extra := ""
		if mem.Failcnt.OK {
			extra = fmt.Sprintf(", failcnt %d", mem.Failcnt.V)
		}
		out = append(out, fmt.Sprintf("sandbox %s: the OOM killer ended it at %s (oom_kill %d%s)", name, limit, mem.Events.OOMKill.V, extra))
	}
	if p := g.Stats.Pids.MaxEvents; p.V > 0 {
		limit := "its pids limit"
		if l := g.Limits.Pids; l.Finite() {
			limit = fmt.Sprintf("its pids limit of %d", l.V)
		}
		forks := "forks"
		if p.V == 1 {
			forks = "fork"
		}
		out = append(out, fmt.Sprintf("sandbox %s: %d %s failed at %s (pids.events max %d)", name, p.V, forks, limit, p.V))
	}
	c := g.Stats.CPU
	if c.Periods.V >= 10 && c.Throttled.OK && c.Throttled.V*2 >= c.Periods.V {
		limit := "its CPU limit"
		if cores := g.Limits.CPU.Cores(); cores > 0 {
			limit = "its CPU limit of " + strconv.FormatFloat(cores, 'f', -1, 64) + " CPUs"
		}
		out = append(out, fmt.Sprintf("sandbox %s: throttled in %d%% of its CPU periods at %s (%s throttled)",
			name, c.Throttled.V*100/c.Periods.V, limit, time.Duration(c.ThrottledTime.V)*time.Microsecond))
	}
	return out
}

// StatsText is what ctop run --stats prints when the sandbox ends.
func (r Result) StatsText(startLatency time.Duration) string {
	var b strings.Builder
	na := func(u cgroup.U64, f func(uint64) string) string {
		if !u.OK {
			return "n/a"
		}
		return f(u.V)
	}
	us := func(v uint64) string { return (time.Duration(v) * time.Microsecond).String() }
	fmt.Fprintf(&b, "start latency  %s\n", startLatency.Round(time.Microsecond))
	fmt.Fprintf(&b, "wall time      %s\n", r.Wall.Round(time.Microsecond))
	if g := r.Group; g != nil {
		fmt.Fprintf(&b, "cpu time       %s\n", na(g.Stats.CPU.Usage, us))
		fmt.Fprintf(&b, "peak memory    %s\n", na(g.Stats.Memory.Peak, FormatBytes))
		fmt.Fprintf(&b, "throttled      %s\n", na(g.Stats.CPU.ThrottledTime, us))
		var rd, wr uint64
		for _, s := range g.Stats.IO {
			rd += s.ReadBytes
			wr += s.WriteBytes
		}
		fmt.Fprintf(&b, "io read        %s\n", FormatBytes(rd))
		fmt.Fprintf(&b, "io written     %s\n", FormatBytes(wr))
	}
	fmt.Fprintf(&b, "exit code      %d\n", r.ExitCode)
	return b.String()
}
