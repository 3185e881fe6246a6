//go:build amd64 || arm64

package sandbox

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// vforkFlags: the child shares the parent's memory, and the parent waits
// until the child has called execve or exited, as after vfork(2). Copying
// the address space of a Go process for a child that only makes system
// calls and then replaces it costs a quarter of a millisecond or more.
const vforkFlags = unix.CLONE_VM | unix.CLONE_VFORK

// rawVfork makes a system call that may return in a child sharing this
// stack (vfork_linux_*.s).
//
//go:noescape
func rawVfork(trap, a1, a2, a3 uintptr) (r1 uintptr, err syscall.Errno)
