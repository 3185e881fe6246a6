package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"path"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/names"
)

type cgroupsOpts struct {
	depth    int
	json     bool
	interval time.Duration
}

func newCgroupsCmd() *cobra.Command {
	var o cgroupsOpts
	cmd := &cobra.Command{
		Use:   "cgroups [PATH|NAME]",
		Short: "Show the cgroup tree with each group's limits beside its usage",
		Long: `Show every cgroup under PATH (default: the whole host) as a tree, with its
limits beside its live usage.

A cgroup (control group) is a set of processes the kernel accounts and limits
together: CPU time, memory, block IO and the number of processes. On cgroup v1
each controller has its own hierarchy (/sys/fs/cgroup/memory, .../cpu, ...);
ctop merges them by path, so a group shows every controller it has. On cgroup
v2 there is one tree for all controllers.

Usage is sampled twice, --interval apart, to derive rates:
  CPU%     CPU time used, as percent of one core (200 = two cores busy)
  LIMIT    the CPU quota in CPUs (cpu.max / cpu.cfs_quota_us), max if none
  %QUOTA   CPU% as percent of that quota (or of the tightest one above)
  THR%     share of CFS periods in which the group was throttled
  MEM      memory in use (memory.current / memory.usage_in_bytes), page
           cache included
  WSET     working set: MEM less inactive file pages, as docker stats,
           kubectl top and the kubelet count it (page cache the kernel
           drops first is left out, so it is below MEM)
  MEMMAX   memory.max / memory.limit_in_bytes; max means unlimited
  CPUSET   the CPUs the group may run on (cpuset.cpus); "-" on v2 where it
           inherits its parent's
  PIDS     processes and threads, and pids.max
  IO       bytes per second read and written, all devices; a "!" marks an
           IO throttle (io.max / blkio.throttle.*: see --json or inspect)
  PSI      cpu pressure: percent of the last 10 s some task waited for CPU
  EVENTS   OOM kills and forks refused at pids.max since the group was made
"-" means the kernel does not expose the value for that group (controller not
enabled, or an older kernel).

The tree names what runs in a group: a docker or podman container by its name
(asked of the engine's socket; else runtime and short id), a Kubernetes pod as
namespace/name (from the kubelet's /var/log/pods). NAME may be any of these,
a unit (cron.service) or a sandbox's name, in place of PATH. --json keeps each
path and adds a "name" object.`,
		Example: `  ctop cgroups                     # the whole host
  ctop cgroups /system.slice -d 1  # one level below a slice
  ctop cgroups shop-web-1          # a docker container, by name
  ctop cgroups --json | jq '.groups[] | select(.stats.memory.events.oom_kill > 0) | .path'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := "/"
			if len(args) == 1 {
				p = args[0]
			}
			if o.depth < 0 {
				return fmt.Errorf("invalid --depth %d: want 0 (no limit) or more", o.depth)
			}
			if o.interval < 0 {
				return fmt.Errorf("invalid --interval %s: want 0 (no rates) or more", o.interval)
			}
			return runCgroups(cmd.OutOrStdout(), cmd.ErrOrStderr(), p, o)
		},
	}
	cmd.Flags().IntVarP(&o.depth, "depth", "d", 0, "levels below PATH to show (0: all)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON: mode, hierarchies and every group with limits, usage and rates")
	cmd.Flags().DurationVarP(&o.interval, "interval", "i", 500*time.Millisecond, "time between the two samples rates are derived from (0: no rates)")
	return cmd
}

// cgroupsJSON is the --json document.
type cgroupsJSON struct {
	Mode        cgroup.Mode        `json:"mode"`
	Hierarchies []cgroup.Hierarchy `json:"hierarchies"`
	Time        time.Time          `json:"time"`
	Interval    float64            `json:"interval_seconds"`
	Groups      []groupJSON        `json:"groups"`
}

type groupJSON struct {
	*cgroup.Group
	Rates cgroup.Rates `json:"rates"`
	// Name says what runs in the group (a container, pod, unit, sandbox),
	// when anything is known.
	Name *names.Name `json:"name"`
}

func runCgroups(stdout, stderr io.Writer, p string, o cgroupsOpts) error {
	fs, err := cgroup.Open("/")
	if err != nil {
		return err
	}
	res := newResolver("")
	opts := cgroup.ScanOptions{Path: p, Depth: o.depth}
	prev, err := fs.Scan(opts)
	if errors.Is(err, cgroup.ErrNotFound) {
		// Not a path: a container's, unit's or sandbox's name?
		var nerr error
		opts.Path, nerr = groupOf(fs, res, p)
		if nerr != nil {
			if strings.Contains(nerr.Error(), " names ") {
				return nerr
			}
			return fmt.Errorf("no cgroup %s on this host (list them with: ctop cgroups)", path.Clean("/"+p))
		}
		prev, err = fs.Scan(opts)
	}
	snap := prev
	if o.interval > 0 {
		time.Sleep(o.interval)
		snap, err = fs.Scan(opts)
		if err != nil && snap == nil {
			return err
		}
	} else {
		prev = nil
	}
	for _, e := range splitErrors(err) {
		fmt.Fprintln(stderr, "ctop: warning:", e)
	}
	rates := cgroup.SnapshotRates(prev, snap)
	paths := make([]string, len(snap.Groups))
	for i, g := range snap.Groups {
		paths[i] = g.Path
	}
	nm := res.Names(paths)
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	if o.json {
		doc := cgroupsJSON{Mode: fs.Mode(), Hierarchies: fs.Hierarchies(), Time: snap.Time, Interval: o.interval.Seconds()}
		for _, g := range snap.Groups {
			gj := groupJSON{Group: g, Rates: rates[g.Path]}
			if n, ok := nm[g.Path]; ok {
				gj.Name = &n
			}
			doc.Groups = append(doc.Groups, gj)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	writeLayout(w, fs)
	writeTree(w, snap, rates, nm, o.interval > 0)
	return nil
}

func splitErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// writeLayout says which hierarchy carries each controller: the difference
// between v1 and v2 a learner should see.
func writeLayout(w io.Writer, fs *cgroup.FS) {
	fmt.Fprintf(w, "cgroup layout: %s", fs.Mode())
	switch fs.Mode() {
	case cgroup.ModeUnified:
		fmt.Fprintln(w, " (one unified tree for every controller)")
	case cgroup.ModeHybrid:
		fmt.Fprintln(w, " (v1 hierarchies per controller, plus a v2 tree)")
	default:
		fmt.Fprintln(w, " (one hierarchy per controller)")
	}
	for _, h := range fs.Hierarchies() {
		c := strings.Join(h.Controllers, ",")
		if c == "" {
			c = "(no controllers)"
		}
		fmt.Fprintf(w, "  v%d %-24s %s\n", h.Version, h.Mountpoint, c)
	}
	fmt.Fprintln(w)
}

func writeTree(w io.Writer, snap *cgroup.Snapshot, rates map[string]cgroup.Rates, nm map[string]names.Name, sampled bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "PROCS\tCPU%\tLIMIT\t%QUOTA\tTHR%\tMEM\tWSET\tMEMMAX\tCPUSET\tPIDS\tIO/s\tPSI\t EVENTS\t CGROUP")
	top := 0
	if len(snap.Groups) > 0 {
		top = pathDepth(snap.Groups[0].Path)
	}
	tree := treeNames(snap.Groups, top)
	for i, g := range snap.Groups {
		if l := nm[g.Path].Label(path.Base(g.Path)); l != "" {
			if i == 0 {
				tree[i] += " " + l
			} else {
				tree[i] = strings.TrimSuffix(tree[i], path.Base(g.Path)) + l
			}
		}
	}
	for i, g := range snap.Groups {
		r := rates[g.Path]
		thr := "-"
		if r.ThrottledFraction.OK {
			thr = pct(cgroup.F64{V: 100 * r.ThrottledFraction.V, OK: true})
		}
		pids := "-"
		if g.Stats.Pids.Current.OK || g.Limits.Pids.OK {
			pids = g.Stats.Pids.Current.String() + "/" + limitNum(g.Limits.Pids)
		}
		io := "-"
		// Files that list no device are no IO yet: 0, not "-".
		if sampled && g.Stats.IO != nil {
			var rd, wr float64
			for _, x := range r.IO {
				rd += x.ReadBps
				wr += x.WriteBps
			}
			io = "r " + rateIEC(rd) + " w " + rateIEC(wr)
		}
		if throttled(g.Limits.IO) {
			io += "!"
		}
		cpuset := g.Limits.CPU.Cpus
		if cpuset == "" {
			cpuset = "-"
		}
		psi := "-"
		if g.Stats.Pressure.CPU.OK {
			psi = fmt.Sprintf("%.1f", g.Stats.Pressure.CPU.Some.Avg10)
		}
		limit := "-"
		if g.Limits.CPU.Quota.OK {
			limit = cores(g.Limits.CPU.Cores())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t %s\t %s\n",
			g.Procs, pct(r.CPU), limit, pct(r.CPUOfQuota), thr,
			u64Bytes(g.Stats.Memory.Current), u64Bytes(g.Stats.Memory.WorkingSet), limitBytes(g.Limits.Memory.Max),
			cpuset, pids, io, psi,
			events(g), tree[i])
	}
	tw.Flush()
}

// throttled reports whether any device has a finite IO limit.
func throttled(l []cgroup.IOLimit) bool {
	for _, t := range l {
		if t.ReadBps.Finite() || t.WriteBps.Finite() || t.ReadIOps.Finite() || t.WriteIOps.Finite() {
			return true
		}
	}
	return false
}

// events marks what a group has hit: OOM kills and refused forks.
func events(g *cgroup.Group) string {
	var e []string
	if k := g.Stats.Memory.Events.OOMKill; k.OK && k.V > 0 {
		e = append(e, fmt.Sprintf("oom_kill=%d", k.V))
	}
	if m := g.Stats.Pids.MaxEvents; m.OK && m.V > 0 {
		e = append(e, fmt.Sprintf("pids_max=%d", m.V))
	}
	if len(e) == 0 {
		return "-"
	}
	return strings.Join(e, ",")
}

// treeNames draws the groups (in tree order) as a tree below the first:
// "├ " before a group with a later sibling, "└ " before the last one, and
// "│ " where an ancestor's siblings continue below.
func treeNames(groups []*cgroup.Group, top int) []string {
	names := make([]string, len(groups))
	// more[d] says whether the branch at depth d has a later sibling.
	var more []bool
	for i, g := range groups {
		d := pathDepth(g.Path) - top
		if d <= 0 {
			names[i] = g.Path
			continue
		}
		last := true
		for _, n := range groups[i+1:] {
			nd := pathDepth(n.Path) - top
			if nd < d {
				break
			}
			if nd == d {
				last = false
				break
			}
		}
		for len(more) < d {
			more = append(more, false)
		}
		more = more[:d]
		var b strings.Builder
		for _, m := range more[:d-1] {
			if m {
				b.WriteString("│ ")
			} else {
				b.WriteString("  ")
			}
		}
		if last {
			b.WriteString("└ ")
		} else {
			b.WriteString("├ ")
		}
		b.WriteString(path.Base(g.Path))
		more[d-1] = !last
		names[i] = b.String()
	}
	return names
}

// pathDepth is the number of components of a group path; "/" has none.
func pathDepth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}
