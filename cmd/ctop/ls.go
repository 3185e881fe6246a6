package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/sandbox"
)

func newLsCmd() *cobra.Command {
	var (
		place   sandboxPlace
		asJSON  bool
		all     bool
		filters []string
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
		Example: `  ctop ls -a --filter label=team=web`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			match, err := lsFilter(filters)
			if err != nil {
				return usageErr(err)
			}
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
			states = slices.DeleteFunc(states, func(st *sandbox.State) bool { return !all && st.Exited() || !match(st) })
			for _, st := range states {
				sandbox.ReadPaused(f, st)
			}
			// Show the limits in force now, which ctop update (or any
			// other tool) may have changed since the start. The root
			// group (about 35 files on v1) is read only when there is a
			// sandbox to compare with it.
			var root cgroup.Limits
			if len(states) > 0 {
				if g, err := f.Read("/"); err == nil {
					root = g.Limits
				}
			}
			entries := []lsEntry{}
			for _, st := range states {
				e := lsEntry{State: st}
				if g, err := f.Read(st.Cgroup); g != nil && err == nil {
					l := sandbox.OwnLimits(g.Limits, root)
					st.Limits, e.Limits = sandbox.Format(l), sandbox.Values(l)
				}
				entries = append(entries, e)
			}
			out := c.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(entries)
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
	c.Flags().StringArrayVarP(&filters, "filter", "f", nil, "list only sandboxes with a label: label=KEY or label=KEY=VALUE (repeat: all must match)")
	return c
}

// lsEntry is a sandbox as ls --json shows it: its state, with the limits
// in force as structured values by option (null: unknown).
type lsEntry struct {
	*sandbox.State
	Limits map[string]any `json:"limits"`
}

// lsFilter turns ls's --filter values into a test of a sandbox: each
// label=KEY (the label is set) or label=KEY=VALUE must hold, as docker
// ps --filter label reads them.
func lsFilter(filters []string) (func(*sandbox.State) bool, error) {
	type label struct {
		key, value string
		any        bool
	}
	var want []label
	for _, f := range filters {
		kv, ok := strings.CutPrefix(f, "label=")
		if !ok || kv == "" || strings.HasPrefix(kv, "=") {
			return nil, fmt.Errorf("--filter %q: want label=KEY or label=KEY=VALUE", f)
		}
		k, v, hasValue := strings.Cut(kv, "=")
		want = append(want, label{k, v, !hasValue})
	}
	return func(st *sandbox.State) bool {
		for _, l := range want {
			v, ok := st.Labels[l.key]
			if !ok || !l.any && v != l.value {
				return false
			}
		}
		return true
	}, nil
}
