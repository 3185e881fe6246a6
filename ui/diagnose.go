package ui

import (
	"fmt"

	"github.com/ctop-dev/ctop/cgroup"
)

// diagnose explains in plain words what the recent history of g shows:
// throttling below the quota, memory held at high or hitting max, forks
// failing at pids.max, IO held at its limit, tasks waiting (pressure).
func diagnose(g *cgroup.Group, h *history) []string {
	pts := h.points()
	if g == nil || len(pts) == 0 {
		return nil
	}
	var out []string
	last := pts[len(pts)-1]

	// CPU: throttling against the average use of the quota.
	var cpuSum, thrSum float64
	var n int
	for _, p := range pts {
		if p.cpuOK && p.thrOK {
			cpuSum += float64(p.cpu)
			thrSum += float64(p.throttled)
			n++
		}
	}
	if n > 0 && last.quota > 0 {
		avgCPU, avgThr := cpuSum/float64(n), thrSum/float64(n)
		useOfQuota := avgCPU / float64(last.quota) * 100
		switch {
		case avgThr >= 5 && useOfQuota < 80:
			out = append(out, fmt.Sprintf("Throttled in %.0f%% of CPU periods although it used on average only %.0f%% of its quota (%s CPUs): "+
				"its bursts use up the quota early in each period and then wait. Raise the quota, or the period in cpu.max, to smooth it.",
				avgThr, useOfQuota, cores(float64(last.quota))))
		case avgThr >= 5:
			out = append(out, fmt.Sprintf("CPU-bound at its quota of %s CPUs (throttled in %.0f%% of periods): it would run faster with more; raise it with `ctop update --cpus`.",
				cores(float64(last.quota)), avgThr))
		}
	}

	// Memory: OOM kills, held at high, at max.
	first := pts[0]
	oom := 0
	for _, m := range h.marks {
		if m.kind == markOOM {
			oom++
		}
	}
	maxL := g.Limits.Memory.Max
	switch {
	case oom > 0:
		out = append(out, fmt.Sprintf("The OOM killer ended a process here (%d time(s) in this window): the group's memory reached memory.max (%s) and nothing more could be reclaimed. Raise --memory or make the program use less.",
			oom, limitBytes(maxL)))
	case last.high > 0 && last.mem >= 0.95*last.high && last.highEvents > first.highEvents:
		out = append(out, fmt.Sprintf("Memory is held at memory.high (%s): the kernel reclaims and slows the group down rather than killing it (%d high events in this window).",
			humanBytes(float64(last.high)), uint32(last.highEvents-first.highEvents)))
	case last.max > 0 && last.mem >= 0.95*last.max:
		msg := fmt.Sprintf("Memory is at memory.max (%s): the kernel is reclaiming; an allocation it cannot make room for will wake the OOM killer.", humanBytes(float64(last.max)))
		if last.failcnt > first.failcnt {
			msg += fmt.Sprintf(" The limit was hit %d time(s) in this window (memory.failcnt).", last.failcnt-first.failcnt)
		}
		out = append(out, msg)
	}

	// Pids: refused forks.
	refused := 0
	for _, m := range h.marks {
		if m.kind == markPids {
			refused++
		}
	}
	if refused > 0 || (last.pidsMax > 0 && last.pids >= last.pidsMax) {
		out = append(out, fmt.Sprintf("Forks are failing: the group is at its pids.max of %.0f tasks, so fork() and clone() return EAGAIN. Raise it with `ctop update --pids-limit`.", last.pidsMax))
	}

	// IO: a rate at its limit.
	for _, l := range g.Limits.IO {
		if l.WriteBps.Finite() && last.ioOK && float64(last.write) >= 0.9*float64(l.WriteBps.V) {
			out = append(out, fmt.Sprintf("Writes are held at their limit of %s/s on device %s (io.max wbps).", humanBytes(float64(l.WriteBps.V)), l.Device))
		}
		if l.ReadBps.Finite() && last.ioOK && float64(last.read) >= 0.9*float64(l.ReadBps.V) {
			out = append(out, fmt.Sprintf("Reads are held at their limit of %s/s on device %s (io.max rbps).", humanBytes(float64(l.ReadBps.V)), l.Device))
		}
	}

	// Pressure: time spent waiting.
	if last.psiMem >= 10 {
		out = append(out, fmt.Sprintf("Some of its tasks waited for memory %.0f%% of the last 10 s (memory.pressure): it is short of memory.", last.psiMem))
	}
	if last.psiIO >= 10 {
		out = append(out, fmt.Sprintf("Some of its tasks waited for IO %.0f%% of the last 10 s (io.pressure).", last.psiIO))
	}
	if last.psiCPU >= 20 && last.quota == 0 {
		out = append(out, fmt.Sprintf("Some of its tasks waited for a CPU %.0f%% of the last 10 s (cpu.pressure): the host's CPUs are busy.", last.psiCPU))
	}
	return out
}
