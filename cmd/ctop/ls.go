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
the flags of ctop run and ctop update that would set them. MANAGER is who
made the group: systemd (a scope, ctop-NAME.scope, that systemctl status
names) or cgroupfs (ctop itself).`,
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
				var limits map[string]any
				if g, err := f.Read(st.Cgroup); g != nil && err == nil {
					l := sandbox.OwnLimits(g.Limits, root)
					st.Limits, limits = sandbox.Format(l), sandbox.Values(l)
				}
				entries = append(entries, lsEntryOf(st, limits))
			}
			out := c.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(entries)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPID\tCREATED\tSTATUS\tCGROUP\tMANAGER\tCOMMAND\tLIMITS")
			now := time.Now()
			for _, s := range states {
				pid := fmt.Sprint(s.Pid)
				switch {
				case s.Exited():
					pid = "-"
				case s.Pid == 0:
					pid = "starting"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s ago\t%s\t%s\t%s\t%s\t%s\n", s.Name, pid,
					time.Since(s.Created).Round(time.Second), s.StatusText(now), s.Cgroup, s.Manager(), strings.Join(s.Command, " "), s.Limits)
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

// lsEntry is a sandbox as ls --json shows it (docs/json.md): its state,
// with null for what is not set, and the limits in force as structured
// values by option (null: unset or unknown, "max": unlimited).
type lsEntry struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	// Pid is null while starting and once exited.
	Pid         *int                `json:"pid"`
	Created     time.Time           `json:"created"`
	Cgroup      string              `json:"cgroup"`
	Command     []string            `json:"command"`
	CommandLine string              `json:"command_line"`
	Namespaces  []sandbox.Namespace `json:"namespaces"`
	Hostname    *string             `json:"hostname"`
	Network     string              `json:"network"`
	Rootfs      *string             `json:"rootfs"`
	Overlay     bool                `json:"overlay"`
	Detached    bool                `json:"detached"`
	Log         *string             `json:"log"`
	User        *sandbox.User       `json:"user"`
	Labels      map[string]string   `json:"labels"`
	Remove      bool                `json:"remove"`
	// StopSignal and StopTimeout are --stop-signal and --stop-timeout
	// (seconds); null: the defaults.
	StopSignal  *int           `json:"stop_signal"`
	StopTimeout *float64       `json:"stop_timeout"`
	ExitCode    *int           `json:"exit_code"`
	FinishedAt  *time.Time     `json:"finished_at"`
	Reason      *string        `json:"reason"`
	Limits      map[string]any `json:"limits"`

	// CgroupManager is systemd or cgroupfs; Unit the systemd scope, null
	// under cgroupfs.
	CgroupManager string  `json:"cgroup_manager"`
	Unit          *string `json:"unit"`
}

func lsEntryOf(st *sandbox.State, limits map[string]any) lsEntry {
	e := lsEntry{Name: st.Name, Status: st.Status, Created: st.Created, Cgroup: st.Cgroup,
		CgroupManager: st.Manager(), Unit: orNull(st.Unit),
		Command: st.Command, CommandLine: commandLine(st.Command), Namespaces: st.Namespaces,
		Hostname: orNull(st.Hostname), Network: st.Network, Rootfs: orNull(st.Rootfs), Overlay: st.Overlay,
		Detached: st.Detached, Log: orNull(st.Log), User: st.User, Labels: st.Labels, Remove: st.Remove,
		ExitCode: st.ExitCode, FinishedAt: st.FinishedAt, Reason: st.Reason, Limits: limits}
	if st.Pid != 0 && !st.Exited() {
		e.Pid = &st.Pid
	}
	if st.StopSignal != 0 {
		e.StopSignal = &st.StopSignal
	}
	if st.StopTimeout != 0 {
		s := st.StopTimeout.Seconds()
		e.StopTimeout = &s
	}
	if e.Command == nil {
		e.Command = []string{}
	}
	return e
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
