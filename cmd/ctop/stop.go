package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/sandbox"
)

func newStopCmd() *cobra.Command {
	var place sandboxPlace
	c := &cobra.Command{
		Use:   "stop NAME...",
		Short: "Stop sandboxes: kill every process in their cgroups",
		Long: `Stop sandboxes. Every process in the sandbox's cgroup is killed at once
(cgroup.kill, on v2 and in a hybrid host's v2 tree; pure v1: freeze the
group, SIGKILL each process, thaw), then ctop
waits until the sandbox's cgroup and state are gone.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr(errors.New("stop: give the name of a sandbox (see ctop ls)"))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			f, err := cgroup.Open("/")
			if err != nil {
				return usageErr(err)
			}
			_ = place.forUser(c.Flags(), f) // the state directory moves even without a delegated subtree
			var errs []error
			for _, name := range args {
				stale, err := sandbox.Stop(f, place.stateDir, name)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				if stale {
					fmt.Fprintf(os.Stderr, "ctop: sandbox %s had been left behind by a killed ctop: removed it\n", name)
				}
				fmt.Fprintln(c.OutOrStdout(), name)
			}
			if len(errs) > 0 {
				return &exitError{code: 1, err: errors.Join(errs...)}
			}
			return nil
		},
	}
	c.SetFlagErrorFunc(flagErr125)
	place.register(c.Flags())
	return c
}
