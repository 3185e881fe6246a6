package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/sandbox"
)

type statsOpts struct {
	place    sandboxPlace
	noStream bool
	json     bool
	interval time.Duration
}

func newStatsCmd() *cobra.Command {
	var o statsOpts
	c := &cobra.Command{
		Use:   "stats [--no-stream] [--json] [NAME...]",
		Short: "Live CPU, memory, IO, pids and throttling of sandboxes, containers or units",
		Long: `Show a live table of resource use, as docker stats does: one row per
running sandbox, or per NAME given (a sandbox, a docker or podman
container, a pod, a unit or a cgroup path, as ctop cgroups takes them).
Every --interval the groups are read again and the table redrawn (in
place when the output is a terminal, else appended); --no-stream prints
one table from two readings --interval apart and exits.

  CPU %        CPU time used, as percent of one core (200% = two cores busy)
  MEM USAGE    working set: memory in use less inactive page cache, as
               docker stats counts it; LIMIT is the group's memory limit,
               else the tightest above it (max: none)
  MEM %        usage as percent of LIMIT ("-" without one)
  IO R/W       bytes per second read and written, all devices
  PIDS         processes and threads, and the pids limit
  THROTTLED %  share of CFS periods in which the group was throttled
"-" means the kernel does not expose the value, or no earlier reading yet.`,
		Example: `  ctop stats                        # every running sandbox
  ctop stats --no-stream web cron   # one table: a sandbox and a unit
  ctop stats --json shop-web-1 | jq -c '.stats[] | [.name, .cpu_percent]'`,
		RunE: func(c *cobra.Command, args []string) error {
			if o.interval <= 0 {
				return usageErr(fmt.Errorf("--interval %s: want more than 0", o.interval))
			}
			f, err := cgroup.Open("/")
			if err != nil {
				return err
			}
			_ = o.place.forUser(c.Flags(), f)
			targets := func() ([]statsTarget, error) { return runningSandboxes(o.place.stateDir) }
			if len(args) > 0 {
				named, err := statsNamed(f, o.place.stateDir, args)
				if err != nil {
					return err
				}
				targets = func() ([]statsTarget, error) { return named, nil }
			}
			out := c.OutOrStdout()
			file, ok := out.(*os.File)
			redraw := ok && !o.json && !o.noStream && sandbox.IsTerminal(int(file.Fd()))
			return runStats(c, f, targets, o, redraw)
		},
	}
	c.SetFlagErrorFunc(flagErr125)
	o.place.register(c.Flags())
	c.Flags().BoolVar(&o.noStream, "no-stream", false, "print one table and exit")
	c.Flags().BoolVar(&o.json, "json", false, "print one JSON document per reading (see docs/json.md)")
	c.Flags().DurationVarP(&o.interval, "interval", "i", time.Second, "time between readings")
	return c
}

// statsTarget is one row's group.
type statsTarget struct {
	name, cgroup string
	// sandbox rows go when their group does; named ones stay, unknown.
	sandbox bool
}

// runningSandboxes are the rows of stats without names: every sandbox
// that has not exited.
func runningSandboxes(stateDir string) ([]statsTarget, error) {
	states, err := sandbox.List(stateDir)
	if err != nil {
		return nil, err
	}
	var out []statsTarget
	for _, st := range states {
		if !st.Exited() {
			out = append(out, statsTarget{st.Name, st.Cgroup, true})
		}
	}
	return out, nil
}

// statsNamed resolves each name: a running sandbox's of stateDir first,
// else as ctop cgroups resolves a name.
func statsNamed(f *cgroup.FS, stateDir string, names []string) ([]statsTarget, error) {
	running, err := runningSandboxes(stateDir)
	if err != nil {
		return nil, err
	}
	res := newResolver(stateDir)
	var out []statsTarget
next:
	for _, n := range names {
		for _, s := range running {
			if s.name == n {
				out = append(out, statsTarget{n, s.cgroup, false})
				continue next
			}
		}
		p, err := groupOf(f, res, n)
		if err != nil {
			if strings.Contains(err.Error(), " names ") {
				return nil, err // more than one match: the error lists them
			}
			return nil, fmt.Errorf("no such sandbox, container, unit or cgroup: %s", n)
		}
		out = append(out, statsTarget{n, p, false})
	}
	return out, nil
}

// statsDoc is one reading as --json writes it (docs/json.md).
type statsDoc struct {
	Time     time.Time    `json:"time"`
	Interval float64      `json:"interval_seconds"`
	Stats    []statsEntry `json:"stats"`
}

type statsEntry struct {
	Name   string `json:"name"`
	Cgroup string `json:"cgroup"`
	cgroup.Usage
}

// runStats reads the targets every interval and writes a table (or a
// JSON document) of their usage since the reading before.
func runStats(c *cobra.Command, f *cgroup.FS, targets func() ([]statsTarget, error), o statsOpts, redraw bool) error {
	out := c.OutOrStdout()
	prev := map[string]*cgroup.Group{}
	var prevTime time.Time
	read := func() ([]statsEntry, error) {
		ts, err := targets()
		if err != nil {
			return nil, err
		}
		now := time.Now()
		cur := map[string]*cgroup.Group{}
		entries := []statsEntry{}
		for _, t := range ts {
			g, err := f.Read(t.cgroup)
			if g == nil && errors.Is(err, cgroup.ErrNotFound) && t.sandbox {
				continue // ended since it was listed
			}
			if g != nil {
				cur[t.cgroup] = g
			}
			var u cgroup.Usage
			if g != nil {
				u = cgroup.NewUsage(prev[t.cgroup], g, now.Sub(prevTime))
			}
			entries = append(entries, statsEntry{t.name, t.cgroup, u})
		}
		prev, prevTime = cur, now
		return entries, nil
	}
	if _, err := read(); err != nil {
		return err
	}
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	enc := json.NewEncoder(out)
	if o.noStream {
		enc.SetIndent("", "  ")
	}
	for {
		select {
		case <-c.Context().Done():
			return nil
		case <-tick.C:
		}
		entries, err := read()
		if err != nil {
			return err
		}
		if o.json {
			err = enc.Encode(statsDoc{prevTime, o.interval.Seconds(), entries})
		} else {
			if redraw {
				fmt.Fprint(out, "\033[2J\033[H") // clear, home: as docker stats redraws
			}
			err = writeStats(out, entries)
		}
		if err != nil || o.noStream {
			return err
		}
	}
}

func writeStats(w io.Writer, entries []statsEntry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tIO R / W\tPIDS\tTHROTTLED %")
	for _, e := range entries {
		io := "-"
		if e.ReadBps.OK {
			io = rateIEC(e.ReadBps.V) + " / " + rateIEC(e.WriteBps.V)
		}
		pids := "-"
		if e.Pids.OK {
			pids = e.Pids.String() + " / " + limitNum(e.PidsLimit)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s / %s\t%s\t%s\t%s\t%s\n", e.Name, pctSign(e.CPU),
			u64Bytes(e.Memory), limitBytes(e.MemoryLimit), pctSign(e.MemoryPercent), io, pids, pctSign(e.Throttled))
	}
	return tw.Flush()
}

// pctSign is a percent as docker stats writes it: 20.05%.
func pctSign(f cgroup.F64) string {
	if !f.OK {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", f.V)
}
