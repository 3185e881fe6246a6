// Package reexec hands a re-executed child of ctop (the sandbox's init, a
// detached sandbox's monitor, ctop exec's child) to sandbox.Init from a
// package initializer, before the rest of the binary is initialized.
//
// Import it for its side effect from package main:
//
//	import _ "github.com/ctop-dev/ctop/sandbox/reexec"
//
// Go initializes packages in dependency order, taking the first ready
// package by import path at each step (go.dev/ref/spec#Package_initialization).
// This package imports only sandbox, whose own dependencies are a few
// standard packages, so its init runs long before those of the UI, metrics
// and command-line libraries: a sandbox's init skips their work (about
// 1.5 ms of a 16 MB binary's start) on its way to execve. runc's
// libcontainer/nsenter is imported the same way, for the same reason.
package reexec

import "github.com/ctop-dev/ctop/sandbox"

func init() {
	// In an ordinary process Init returns at once; in a child it never
	// returns.
	sandbox.Init()
}
