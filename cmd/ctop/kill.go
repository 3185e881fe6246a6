package main

import (
	"fmt"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/sandbox"
)

func newKillCmd() *cobra.Command {
	var (
		place  sandboxPlace
		signal string
	)
	c := &cobra.Command{
		Use:   "kill [-s SIGNAL] NAME...",
		Short: "Send a signal to sandboxes' init (default SIGKILL)",
		Long: `Send a signal (-s: a name like TERM or SIGTERM, or a number; default
SIGKILL) to each sandbox's init, as docker kill does, without waiting for
it to end (see ctop wait).`,
		Args: needNames("kill"),
		RunE: func(c *cobra.Command, args []string) error {
			sig := syscall.SIGKILL
			if c.Flags().Changed("signal") {
				var err error
				if sig, err = sandbox.ParseSignal(signal); err != nil {
					return usageErr(fmt.Errorf("--signal: %w", err))
				}
			}
			f, err := placeFS(c, &place)
			if err != nil {
				return err
			}
			return eachSandbox(c, args, func(name string) error {
				return sandbox.Kill(f, place.stateDir, name, sig)
			})
		},
	}
	c.SetFlagErrorFunc(flagErr125)
	place.register(c.Flags())
	c.Flags().StringVarP(&signal, "signal", "s", "KILL", "signal to send")
	return c
}
