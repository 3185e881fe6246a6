package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/sandbox"
)

func newWaitCmd() *cobra.Command {
	var place sandboxPlace
	c := &cobra.Command{
		Use:   "wait NAME...",
		Short: "Wait until sandboxes end and print their exit codes",
		Long: `Block until each sandbox has ended and print its exit code, as docker
wait does; for one that has ended already, at once. ctop exits 0 whatever
the codes are.`,
		Args: needNames("wait"),
		RunE: func(c *cobra.Command, args []string) error {
			f, err := placeFS(c, &place)
			if err != nil {
				return err
			}
			var errs []error
			for _, name := range args {
				st, err := sandbox.WaitExit(f, place.stateDir, name)
				if err == nil && st.ExitCode == nil {
					err = fmt.Errorf("sandbox %s: the exit code is unknown: %s", name, deref(st.Reason))
				}
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(c.OutOrStdout(), *st.ExitCode)
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

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
