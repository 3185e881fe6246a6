package cgroup

import (
	"sync"

	"golang.org/x/sys/unix"
)

// host is the layout OpenHost keeps.
var host struct {
	sync.Mutex
	fs *FS
	// watch is this process's /proc/self/mountinfo, open to be polled:
	// a plain fd, not an *os.File, whose registration with Go's netpoller
	// would let the runtime's epoll consume the change first.
	watch    int
	watching bool
}

// OpenHost is Open("/") for a process that needs the layout again and
// again, such as one that starts many sandboxes (the TUI): it keeps the
// layout it read and reads it again only once the mount table of this
// process's mount namespace has changed. poll(2) on an open
// /proc/self/mountinfo reports every mount and unmount as POLLPRI
// (proc_pid_mountinfo(5)); libmount's monitor watches the same file. Until
// then callers share one *FS, which nothing modifies once it is read.
func OpenHost() (*FS, error) {
	host.Lock()
	defer host.Unlock()
	if !host.watching {
		// Opened before the layout is read, so that a change while it is
		// read shows at the next call.
		w, err := unix.Open("/proc/self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return Open("/")
		}
		host.watch, host.watching = w, true
	} else if host.fs != nil && !mountsChanged(host.watch) {
		return host.fs, nil
	}
	f, err := Open("/")
	if err != nil {
		host.fs = nil
		return nil, err
	}
	host.fs = f
	return f, nil
}

// mountsChanged reports whether the mount table changed since the last
// poll of w (or since w was opened). A poll that fails counts as a change.
func mountsChanged(w int) bool {
	fds := []unix.PollFd{{Fd: int32(w), Events: unix.POLLPRI}}
	if _, err := unix.Poll(fds, 0); err != nil {
		return true
	}
	// The file is always readable (POLLIN); a change adds POLLPRI|POLLERR.
	return fds[0].Revents&(unix.POLLPRI|unix.POLLERR) != 0
}
