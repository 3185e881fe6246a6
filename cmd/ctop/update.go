package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/sandbox"
)

func newUpdateCmd() *cobra.Command {
	var place sandboxPlace
	c := &cobra.Command{
		Use:   "update [flags] NAME|CGROUP-PATH",
		Short: "Change the limits of a running sandbox, or of any cgroup, live",
		Long: `Change cgroup limits while the processes run. The target is a sandbox's
name or any cgroup path (one with a '/', like /system.slice/cron.service).
The flags, their units and their validation are ctop run's.`,
		Example: `  ctop update --cpus 0.1 busy
  ctop update --memory 512m --memory-swap 512m /system.slice/cron.service`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr(errors.New("update: give one sandbox name or cgroup path"))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			r, err := sandbox.ParseUpdate(givenOptions(c.Flags()))
			if err != nil {
				return usageErr(err)
			}
			if r.Empty() {
				return usageErr(errors.New("update: no limit to change: give --cpus, --memory, --pids-limit or another limit flag"))
			}
			f, err := cgroup.Open("/")
			if err != nil {
				return usageErr(err)
			}
			_ = place.forUser(c.Flags(), f)
			path, err := sandbox.UpdateTarget(f, place.stateDir, args[0], r)
			if err != nil {
				return usageErr(givenOptions(c.Flags()).Blame(err))
			}
			if r.MemoryMax != nil && r.MemoryMax.Finite() {
				// A limit below current usage is accepted: the kernel then
				// reclaims, and OOM-kills if it cannot.
				if g, err := f.Read(path); err == nil && g.Stats.Memory.Current.OK && g.Stats.Memory.Current.V > r.MemoryMax.V {
					fmt.Fprintf(os.Stderr, "ctop: %s uses %s, above its new %s memory limit: the kernel reclaims or OOM-kills\n",
						path, sandbox.FormatBytes(g.Stats.Memory.Current.V), sandbox.FormatBytes(r.MemoryMax.V))
				}
			}
			fmt.Fprintln(c.OutOrStdout(), args[0])
			return nil
		},
	}
	c.SetFlagErrorFunc(flagErr125)
	registerOptions(c.Flags(), sandbox.CmdUpdate)
	place.register(c.Flags())
	return c
}
