//go:build !386 && !arm

package sandbox

import "golang.org/x/sys/unix"

// The system calls that set 32-bit user and group ids (plan.privileges).
const (
	sysSetresuid = unix.SYS_SETRESUID
	sysSetresgid = unix.SYS_SETRESGID
	sysSetgroups = unix.SYS_SETGROUPS
)
