package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// exitError carries a process exit status through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "ctop",
		Short: "See and control cgroups, namespaces and sandboxed processes",
		Long: `ctop makes the kernel's container machinery visible: every cgroup with its
limits beside its live usage, every namespace and the processes in it, and
how an isolated process differs from the host. It also launches sandboxed
processes and changes cgroup limits live.

Looking needs no root; changing limits and launching sandboxes does.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		// Subcommands, one constructor per file.
		newServeCmd(),
		newCgroupsCmd(),
		newInspectCmd(),
		newRunCmd(),
		newExecCmd(),
		newStopCmd(),
		newKillCmd(),
		newWaitCmd(),
		newLogsCmd(),
		newRmCmd(),
		newPauseCmd(), newUnpauseCmd(),
		newLsCmd(),
		newStatsCmd(),
		newUpdateCmd(),
		newNsCmd(), newPsCmd(),
		newNetCmd(),
	)
	addTUI(root)
	addVersion(root)
	addCompletions(root)
	addDocs(root)
	return root
}
