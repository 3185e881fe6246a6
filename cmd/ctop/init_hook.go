package main

import "github.com/ctop-dev/ctop/sandbox"

// sandboxInitHook lets the sandbox take over a re-executed child of ctop
// (the sandbox's init, a detached sandbox's monitor, ctop exec's child).
// In such a child it never returns.
func sandboxInitHook() bool { return sandbox.Init() }
