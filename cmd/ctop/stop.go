package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/sandbox"
)

func newStopCmd() *cobra.Command {
	var (
		place   sandboxPlace
		seconds int
		signal  string
	)
	c := &cobra.Command{
		Use:   "stop [-t SECONDS] [-s SIGNAL] NAME...",
		Short: "Stop sandboxes: the stop signal, then after a grace period kill them",
		Long: `Stop sandboxes as docker stop does. The sandbox's init gets the stop
signal (-s, else the sandbox's --stop-signal, else SIGTERM) and -t seconds
(else its --stop-timeout, else 10) to end; then every process in its cgroup
is killed (cgroup.kill, on v2 and in a hybrid host's v2 tree; pure v1:
freeze the group, SIGKILL each process, thaw). ctop waits until the
sandbox's end is recorded and prints its name. A detached sandbox's record
and log stay until ctop rm.

The init of a pid namespace takes only the signals it handles: a command
that ignores SIGTERM runs until it is killed at the end of the grace.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr(errors.New("stop: give the name of a sandbox (see ctop ls)"))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			var o sandbox.StopOptions
			if c.Flags().Changed("time") {
				if seconds < 0 {
					return usageErr(fmt.Errorf("--time %d: want 0 or more seconds", seconds))
				}
				d := time.Duration(seconds) * time.Second
				o.Timeout = &d
			}
			if c.Flags().Changed("signal") {
				sig, err := sandbox.ParseSignal(signal)
				if err != nil {
					return usageErr(fmt.Errorf("--signal: %w", err))
				}
				o.Signal = sig
			}
			f, err := placeFS(c, &place)
			if err != nil {
				return err
			}
			return eachSandbox(c, args, func(name string) error {
				stale, err := sandbox.Stop(f, place.stateDir, name, o)
				if err == nil && stale {
					fmt.Fprintf(os.Stderr, "ctop: sandbox %s had been left behind by a killed ctop: cleaned it up\n", name)
				}
				return err
			})
		},
	}
	c.SetFlagErrorFunc(flagErr125)
	place.register(c.Flags())
	c.Flags().IntVarP(&seconds, "time", "t", 0, "seconds to wait for the sandbox to end before killing it (default: its --stop-timeout, else 10)")
	c.Flags().StringVarP(&signal, "signal", "s", "", "signal to send first (default: its --stop-signal, else SIGTERM)")
	return c
}

// eachSandbox runs do for each name, printing the names it succeeded for
// (as docker does) and joining the errors of the rest.
func eachSandbox(c *cobra.Command, names []string, do func(name string) error) error {
	var errs []error
	for _, name := range names {
		if err := do(name); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(c.OutOrStdout(), name)
	}
	if len(errs) > 0 {
		return &exitError{code: 1, err: errors.Join(errs...)}
	}
	return nil
}

// needNames is the Args check of a command on named sandboxes.
func needNames(cmd string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageErr(fmt.Errorf("%s: give the name of a sandbox (see ctop ls -a)", cmd))
		}
		return nil
	}
}

// placeFS opens the cgroup filesystem and moves place for a user who is
// not root, as each sandbox command does.
func placeFS(c *cobra.Command, place *sandboxPlace) (*cgroup.FS, error) {
	f, err := cgroup.Open("/")
	if err != nil {
		return nil, usageErr(err)
	}
	_ = place.forUser(c.Flags(), f) // the state directory moves even without a delegated subtree
	return f, nil
}
