package cgroup

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// FinalWatch keeps a reading of a group as ReadFinal reads it, taken each
// time the kernel reports a change of the group's events (memory.events,
// pids.events) or of whether it holds processes (cgroup.events): for a
// group that its manager removes the moment it is empty (systemd removes
// an empty scope's group), so that ReadFinal after the last process
// ended may find the files gone. The kernel notifies an OOM kill or a
// refused fork when it happens, before the processes exit, and
// cgroup.events when the last one left.
type FinalWatch struct {
	f    *os.File
	done chan struct{}
	mu   sync.Mutex
	last *Group
}

// WatchFinal starts watching the group's v2 event files (see FinalWatch).
func (m *Manager) WatchFinal(stats bool) (*FinalWatch, error) {
	dir, ok := m.Dir("")
	if !ok {
		return nil, fmt.Errorf("watch %s: no v2 group", m.path)
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", m.path, err)
	}
	for _, name := range []string{"cgroup.events", "memory.events", "pids.events"} {
		// A file of a controller the group lacks is no error.
		_, _ = unix.InotifyAddWatch(fd, filepath.Join(dir, name), unix.IN_MODIFY)
	}
	// Non-blocking, so that Close wakes the reader (the runtime's poller).
	w := &FinalWatch{f: os.NewFile(uintptr(fd), "inotify "+dir), done: make(chan struct{})}
	mode := m.finalMode(stats)
	go func() {
		defer close(w.done)
		buf := make([]byte, 4096)
		for {
			if _, err := w.f.Read(buf); err != nil {
				return
			}
			// Fresh opens: the files ReadFinal holds are its own. A
			// reading that holds the counters stands, though a file
			// beside them failed (as ReadFinal's does in Wait); one of
			// a group removed meanwhile holds none, and leaves the last.
			if g, _ := m.readFinal(mode); g.EventsKnown() {
				w.mu.Lock()
				w.last = g
				w.mu.Unlock()
			}
		}
	}()
	return w, nil
}

// Stop ends the watch and returns its last reading (nil: none).
func (w *FinalWatch) Stop() *Group {
	w.f.Close()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// EventsKnown reports whether g (nil: no reading) holds any of the
// counters a final reading is for: OOM kills, refused forks, throttling.
// A reading of a group removed meanwhile holds none.
func (g *Group) EventsKnown() bool {
	return g != nil && (g.Stats.Memory.Events.OOMKill.OK || g.Stats.Pids.MaxEvents.OK || g.Stats.CPU.Throttled.OK)
}
