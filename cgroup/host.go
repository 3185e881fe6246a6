package cgroup

import (
	"sync"

	"golang.org/x/sys/unix"
)

// Host keeps the live host's layout (Open("/")) for a process that needs
// it again and again, such as one that starts many sandboxes (the TUI):
// it keeps the layout it read and reads it again only once the mount
// table of this process's mount namespace has changed. poll(2) on an open
// /proc/self/mountinfo reports every mount and unmount as POLLPRI
// (proc_pid_mountinfo(5)); libmount's monitor watches the same file. Until
// then FS returns one *FS, which nothing modifies once it is read. The
// caller owns the Host and its cache; the zero value is ready to use, and
// Close releases the descriptor it watches.
type Host struct {
	mu sync.Mutex
	fs *FS
	// watch is this process's /proc/self/mountinfo, open to be polled:
	// a plain fd, not an *os.File, whose registration with Go's netpoller
	// would let the runtime's epoll consume the change first.
	watch    int
	watching bool
}

// FS returns the live host's layout, read again only if the mount table
// changed since the last call.
func (h *Host) FS() (*FS, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.watching {
		// Opened before the layout is read, so that a change while it is
		// read shows at the next call.
		w, err := unix.Open("/proc/self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return Open("/")
		}
		h.watch, h.watching = w, true
	} else if h.fs != nil && !mountsChanged(h.watch) {
		return h.fs, nil
	}
	f, err := Open("/")
	if err != nil {
		h.fs = nil
		return nil, err
	}
	h.fs = f
	return f, nil
}

// Close stops watching the mount table and forgets the layout; a later
// FS starts again.
func (h *Host) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fs = nil
	if !h.watching {
		return nil
	}
	h.watching = false
	return unix.Close(h.watch)
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
