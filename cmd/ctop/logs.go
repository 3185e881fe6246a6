package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/sandbox"
)

func newLogsCmd() *cobra.Command {
	var (
		place sandboxPlace
		o     sandbox.LogOptions
		tail  string
	)
	c := &cobra.Command{
		Use:   "logs [-f] [--tail N] NAME",
		Short: "Print a detached sandbox's output, running or exited",
		Long: `Print the output log of a sandbox started with -d, as docker logs does:
while it runs and after it exits, until ctop rm. -f follows the output
until the sandbox ends.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr(fmt.Errorf("logs: give the name of one sandbox (see ctop ls -a)"))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if tail != "all" {
				n, err := strconv.Atoi(tail)
				if err != nil || n < 0 {
					return usageErr(fmt.Errorf("--tail %q: want a number of lines, or all", tail))
				}
				o.Tail = &n
			}
			if _, err := placeFS(c, &place); err != nil {
				return err
			}
			return sandbox.Logs(place.stateDir, args[0], o, c.OutOrStdout())
		},
	}
	c.SetFlagErrorFunc(flagErr125)
	place.register(c.Flags())
	c.Flags().BoolVarP(&o.Follow, "follow", "f", false, "follow the output until the sandbox ends")
	c.Flags().StringVarP(&tail, "tail", "n", "all", "number of lines to show from the end of the log")
	return c
}
