// Command ctop shows and controls the kernel's container machinery: cgroups,
// namespaces and sandboxed processes.
package main

import (
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
		fmt.Fprintln(os.Stderr, "ctop:", err)
		os.Exit(exitCode(err))
	}
}
