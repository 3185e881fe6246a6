//go:build !amd64 && !arm64

package sandbox

import "syscall"

// vforkFlags: without an assembly trampoline for this architecture the
// child gets a copy of the address space (fork), so it may return from
// the system call on its own stack.
const vforkFlags = 0

//go:nosplit
//go:norace
func rawVfork(trap, a1, a2, a3 uintptr) (uintptr, syscall.Errno) {
	r1, _, err := syscall.RawSyscall(trap, a1, a2, a3)
	return r1, err
}
