package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/sandbox"
)

func newLsCmd() *cobra.Command {
	var (
		place  sandboxPlace
		asJSON bool
		all    bool
	)
	c := &cobra.Command{
		Use:   "ls",
		Short: "List sandboxes: running ones, with -a exited ones too",
		Long: `List the running sandboxes, from the state ctop keeps under /run/ctop;
with -a also those that exited (a detached sandbox's record stays until
ctop rm). STATUS is docker's: Up 5 minutes, Up 5 minutes (Paused), Exited
(3) 2 minutes ago. Sandboxes whose ctop was killed are cleaned up first,
and ctop says so.
LIMITS are the limits in force now, read from each sandbox's cgroup, as
the flags of ctop run and ctop update that would set them.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f, err := cgroup.Open("/")
			if err != nil {
				return usageErr(err)
			}
			if err := place.forUser(c.Flags(), f); err == nil {
				place.reap(f)
			}
			states, err := sandbox.List(place.stateDir)
			if err != nil {
				return err
			}
			states = slices.DeleteFunc(states, func(st *sandbox.State) bool { return !all && st.Exited() })
			for _, st := range states {
				sandbox.ReadPaused(f, st)
			}
			// Show the limits in force now, which ctop update (or any
			// other tool) may have changed since the start.
			allCpus := ""
			if root, err := f.Read("/"); err == nil {
				allCpus = root.Limits.CPU.EffectiveCpus
			}
			for _, st := range states {
				if g, err := f.Read(st.Cgroup); g != nil && err == nil {
					st.Limits = liveLimits(g, allCpus)
				}
			}
			out := c.OutOrStdout()
			if asJSON {
				if states == nil {
					states = []*sandbox.State{}
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(states)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPID\tCREATED\tSTATUS\tCGROUP\tCOMMAND\tLIMITS")
			now := time.Now()
			for _, s := range states {
				pid := fmt.Sprint(s.Pid)
				switch {
				case s.Exited():
					pid = "-"
				case s.Pid == 0:
					pid = "starting"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s ago\t%s\t%s\t%s\t%s\n", s.Name, pid,
					time.Since(s.Created).Round(time.Second), s.StatusText(now), s.Cgroup, strings.Join(s.Command, " "), s.Limits)
			}
			return tw.Flush()
		},
	}
	c.SetFlagErrorFunc(flagErr125)
	place.register(c.Flags())
	c.Flags().BoolVar(&asJSON, "json", false, "print the sandboxes' state as JSON")
	c.Flags().BoolVarP(&all, "all", "a", false, "list exited sandboxes too")
	return c
}

// liveLimits writes a group's limits as the flags that set them. A cpuset
// of every CPU (allCpus; v1 requires one in each group) is no limit.
func liveLimits(g *cgroup.Group, allCpus string) string {
	var s []string
	if c := g.Limits.CPU.Cores(); c > 0 {
		s = append(s, "--cpus "+strconv.FormatFloat(c, 'f', -1, 64))
	}
	if c := g.Limits.CPU.Cpus; c != "" && c != allCpus {
		s = append(s, "--cpuset-cpus "+c)
	}
	if m := g.Limits.Memory.Max; m.Finite() {
		s = append(s, "--memory "+strings.ReplaceAll(sandbox.FormatBytes(m.V), " ", ""))
	}
	if p := g.Limits.Pids; p.Finite() {
		s = append(s, "--pids-limit "+strconv.FormatUint(p.V, 10))
	}
	for _, l := range g.Limits.IO {
		for _, x := range []struct {
			flag string
			l    cgroup.Limit
		}{{"--device-read-bps", l.ReadBps}, {"--device-write-bps", l.WriteBps}, {"--device-read-iops", l.ReadIOps}, {"--device-write-iops", l.WriteIOps}} {
			if x.l.Finite() {
				s = append(s, x.flag+" "+l.Device.String()+":"+strconv.FormatUint(x.l.V, 10))
			}
		}
	}
	return strings.Join(s, " ")
}
