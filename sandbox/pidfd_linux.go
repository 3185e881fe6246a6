package sandbox

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// initProc is a sandbox's init, held by a pidfd (pidfd_open(2), Linux
// 5.3) so that a signal cannot reach another process that reused its pid;
// fd is -1 on an older kernel, where kill(2) after the start-time check
// stands in.
type initProc struct {
	pid int
	fd  int
}

// openInit opens the init that st names, checking that the pid is still
// that process once it is held.
func openInit(st *State) (*initProc, error) {
	fd, err := unix.PidfdOpen(st.Pid, 0)
	if err != nil && !errors.Is(err, unix.ENOSYS) {
		return nil, errNotRunning("signal", st.Name)
	}
	if err != nil {
		fd = -1
	}
	p := &initProc{pid: st.Pid, fd: fd}
	if !st.Running() {
		p.close()
		return nil, errNotRunning("signal", st.Name)
	}
	return p, nil
}

func (p *initProc) close() {
	if p.fd >= 0 {
		unix.Close(p.fd)
	}
}

func (p *initProc) signal(sig syscall.Signal) error {
	var err error
	if p.fd >= 0 {
		err = unix.PidfdSendSignal(p.fd, sig, nil, 0)
	} else {
		err = unix.Kill(p.pid, sig)
	}
	if err != nil {
		return fmt.Errorf("send %s to pid %d: %w", unix.SignalName(sig), p.pid, err)
	}
	return nil
}

// waitExit waits up to d for the init to end and reports whether it did.
// A pidfd polls readable once its process has ended (also as a zombie).
func (p *initProc) waitExit(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		if p.fd < 0 {
			if _, ok := procStart(p.pid); !ok {
				return true
			}
			time.Sleep(min(left, 10*time.Millisecond))
			continue
		}
		fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(min(left, time.Second)/time.Millisecond)+1)
		if err == nil && n > 0 {
			return true
		}
		if err != nil && err != unix.EINTR {
			return false
		}
	}
}
