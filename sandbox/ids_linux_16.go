//go:build 386 || arm

package sandbox

import "golang.org/x/sys/unix"

// The system calls that set 32-bit user and group ids (plan.privileges):
// on 386 and arm the calls without the suffix take 16-bit ids.
const (
	sysSetresuid = unix.SYS_SETRESUID32
	sysSetresgid = unix.SYS_SETRESGID32
	sysSetgroups = unix.SYS_SETGROUPS32
)
