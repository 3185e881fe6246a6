package main

import (
	"encoding/json"
	"fmt"
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
	)
	c := &cobra.Command{
		Use:   "ls",
		Short: "List running sandboxes",
		Long: `List the running sandboxes, from the state ctop keeps under /run/ctop.
Sandboxes whose ctop was killed are cleaned up first, and ctop says so.`,
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
			fmt.Fprintln(tw, "NAME\tPID\tCREATED\tCGROUP\tCOMMAND\tLIMITS")
			for _, s := range states {
				pid := fmt.Sprint(s.Pid)
				if s.Pid == 0 {
					pid = "starting"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s ago\t%s\t%s\t%s\n", s.Name, pid,
					time.Since(s.Created).Round(time.Second), s.Cgroup, strings.Join(s.Command, " "), s.Limits)
			}
			return tw.Flush()
		},
	}
	c.SetFlagErrorFunc(flagErr125)
	place.register(c.Flags())
	c.Flags().BoolVar(&asJSON, "json", false, "print the sandboxes' state as JSON")
	return c
}
