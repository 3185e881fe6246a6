// Command ctop shows and controls the kernel's container machinery: cgroups,
// namespaces and sandboxed processes.
package main

import (
	"errors"
	"fmt"
	"os"

	// The sandbox re-executes this binary as the container's init (and as a
	// detached sandbox's monitor and ctop exec's child). reexec's package
	// initializer hands such a child to sandbox.Init before the rest of the
	// binary is initialized, so it never reaches main; see its doc.
	_ "github.com/ctop-dev/ctop/sandbox/reexec"
)

func main() {
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
