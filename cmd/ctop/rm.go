package main

import (
	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/sandbox"
)

func newRmCmd() *cobra.Command {
	var (
		place sandboxPlace
		force bool
	)
	c := &cobra.Command{
		Use:   "rm [-f] NAME...",
		Short: "Remove sandboxes' records and logs",
		Long: `Remove exited sandboxes: their records and output logs, which stay after
a detached sandbox exits, and their names, which are taken until then. A
running sandbox is refused unless -f, which kills it first.`,
		Args: needNames("rm"),
		RunE: func(c *cobra.Command, args []string) error {
			f, err := placeFS(c, &place)
			if err != nil {
				return err
			}
			return eachSandbox(c, args, func(name string) error {
				return sandbox.Remove(f, place.stateDir, name, force)
			})
		},
	}
	c.SetFlagErrorFunc(flagErr125)
	place.register(c.Flags())
	c.Flags().BoolVarP(&force, "force", "f", false, "kill a running sandbox first")
	return c
}
