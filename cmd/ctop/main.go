// Command ctop shows and controls the kernel's container machinery: cgroups,
// namespaces and sandboxed processes.
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() {
	// The sandbox re-executes this binary as the container's init; that hook
	// must run before anything else touches the process (see sandbox.Init).
	if handled := sandboxInitHook(); handled {
		return
	}
	if err := newRootCmd().Execute(); err != nil {
		// A sandboxed command's own failure has been reported by the
		// command itself; only its exit status passes through.
		var q quietExit
		if !errors.As(err, &q) {
			fmt.Fprintln(os.Stderr, "ctop:", err)
		}
		os.Exit(exitCode(err))
	}
}
