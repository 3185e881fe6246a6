package main

import (
	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/sandbox"
)

func newPauseCmd() *cobra.Command {
	return pauseCmd("pause", "Freeze every process of sandboxes (cgroup freezer)", sandbox.Pause)
}

func newUnpauseCmd() *cobra.Command {
	return pauseCmd("unpause", "Thaw paused sandboxes", sandbox.Unpause)
}

func pauseCmd(name, short string, do func(f *cgroup.FS, stateDir, name string) error) *cobra.Command {
	var place sandboxPlace
	c := &cobra.Command{
		Use:   name + " NAME...",
		Short: short,
		Long: short + `, as docker ` + name + ` does: v2 cgroup.freeze, v1
the freezer hierarchy. A paused sandbox uses no CPU and takes no signal
until thawed; ctop ls shows it as Paused.`,
		Args: needNames(name),
		RunE: func(c *cobra.Command, args []string) error {
			f, err := placeFS(c, &place)
			if err != nil {
				return err
			}
			return eachSandbox(c, args, func(n string) error { return do(f, place.stateDir, n) })
		},
	}
	c.SetFlagErrorFunc(flagErr125)
	place.register(c.Flags())
	return c
}
