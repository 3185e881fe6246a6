package sandbox

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MakeRaw puts the terminal on fd in raw mode, as a container runtime does
// for -t, and returns a function that restores it.
func MakeRaw(fd int) (restore func(), err error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("terminal mode: %w", err)
	}
	t := *old
	// cfmakeraw(3)
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &t); err != nil {
		return nil, fmt.Errorf("terminal raw mode: %w", err)
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}

// TerminalSize returns the window size of the terminal on fd.
func TerminalSize(fd int) (rows, cols uint16, err error) {
	ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil {
		return 0, 0, err
	}
	return ws.Row, ws.Col, nil
}

// IsTerminal reports whether fd is a terminal.
func IsTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// consoleMsg is the message by which a sandbox's init sends the master of
// its terminal to ctop (SCM_RIGHTS), prepared before the clone: the child
// only writes the fd into it.
type consoleMsg struct {
	hdr  unix.Msghdr
	iov  unix.Iovec
	data [1]byte
	oob  [64]byte
	// fd points where in oob the fd goes.
	fd   *int32
	zero int32
}

func newConsoleMsg() *consoleMsg {
	m := &consoleMsg{}
	n := copy(m.oob[:], unix.UnixRights(0))
	m.fd = (*int32)(unsafe.Pointer(&m.oob[unix.CmsgLen(0)]))
	m.iov.Base = &m.data[0]
	m.iov.SetLen(1)
	m.hdr.Iov = &m.iov
	m.hdr.SetIovlen(1)
	m.hdr.Control = &m.oob[0]
	m.hdr.SetControllen(n)
	return m
}

// open makes the terminal of a sandbox's command: a new pair from the
// devpts of ptmx (a path, as a system call argument), the master sent over
// fd 0 (the socket ctop's end waits on), the replica made fds 0, 1 and 2
// and the controlling terminal of the session the init leads.
//
//go:nosplit
//go:norace
func (m *consoleMsg) open(ptmx uintptr) syscall.Errno {
	mfd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, atFDCWD, ptmx, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		return e
	}
	_, _, e = syscall.RawSyscall(unix.SYS_IOCTL, mfd, unix.TIOCSPTLCK, uintptr(unsafe.Pointer(&m.zero)))
	var sfd uintptr
	if e == 0 {
		sfd, _, e = syscall.RawSyscall(unix.SYS_IOCTL, mfd, unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY)
	}
	if e == 0 {
		*m.fd = int32(mfd)
		_, _, e = syscall.RawSyscall(unix.SYS_SENDMSG, 0, uintptr(unsafe.Pointer(&m.hdr)), 0)
	}
	syscall.RawSyscall(unix.SYS_CLOSE, mfd, 0, 0)
	if e != 0 {
		return e
	}
	for fd := uintptr(0); fd < 3; fd++ {
		if _, _, e = syscall.RawSyscall(unix.SYS_DUP3, sfd, fd, 0); e != 0 {
			return e
		}
	}
	syscall.RawSyscall(unix.SYS_CLOSE, sfd, 0, 0)
	_, _, e = syscall.RawSyscall(unix.SYS_IOCTL, 0, unix.TIOCSCTTY, 1)
	return e
}

// consolePair is the socket pair over which the sandbox's init sends its
// terminal's master: ctop's end, and the init's, which it gets as its fds
// 0, 1 and 2 until it has the terminal.
func consolePair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("-t: socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "console"), os.NewFile(uintptr(fds[1]), "console"), nil
}

// recvConsole receives the master of the sandbox's terminal, which the
// init sent before it executed the command.
func recvConsole(sock *os.File) (*os.File, error) {
	oob := make([]byte, unix.CmsgSpace(4))
	var b [1]byte
	_, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), b[:], oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("-t: receive the terminal: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("-t: receive the terminal: no fd (%v)", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("-t: receive the terminal: no fd (%v)", err)
	}
	return os.NewFile(uintptr(fds[0]), "/dev/ptmx"), nil
}
