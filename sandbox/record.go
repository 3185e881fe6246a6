package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// This file is the life of a detached sandbox's record after it exits, as
// docker keeps a container's: its state file says how it ended (code,
// time, reason) and its directory keeps the output log, until ctop rm.

// finish records how the sandbox ended (r, just reaped) and drops every
// file of its directory but the log (an overlay's layers).
func (s *State) finish(r Result) error {
	code := r.ExitCode
	now := time.Now()
	s.Status, s.ExitCode, s.FinishedAt, s.Reason = StatusExited, &code, &now, exitReason(r)
	s.dropAllButLog()
	return s.rewrite()
}

// markLost records a sandbox whose monitor was killed as exited: how it
// ended is unknown (it died with its monitor, by the parent-death signal).
func (s *State) markLost() error {
	reason := fmt.Sprintf("its monitor (pid %d) was killed; the exit code is unknown", s.Owner)
	s.Status, s.ExitCode, s.FinishedAt, s.Reason = StatusExited, nil, nil, &reason
	s.dropAllButLog()
	return s.rewrite()
}

func (s *State) dropAllButLog() {
	ents, _ := os.ReadDir(s.dir)
	for _, e := range ents {
		if e.Name() != logName {
			_ = os.RemoveAll(filepath.Join(s.dir, e.Name()))
		}
	}
}

// rewrite replaces the state file whole, by a rename: a ctop killed while
// it writes leaves the old record, never half a new one. (update writes
// in place for the start's sake; an exit can afford the rename.)
func (s *State) rewrite() error {
	b, err := s.marshal()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), "."+s.Name+"-*.tmp")
	if err != nil {
		return fmt.Errorf("write sandbox state: %w", err)
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write sandbox state %s: %w", s.path, err)
	}
	return nil
}

// exitReason says what ended the sandbox beyond its code, nil for a plain
// exit: the OOM killer, forks refused at the pids limit, a signal.
func exitReason(r Result) *string {
	var why []string
	if g := r.Group; g != nil {
		if n := g.Stats.Memory.Events.OOMKill.V; n > 0 {
			why = append(why, fmt.Sprintf("OOM killed (oom_kill %d)", n))
		}
		if n := g.Stats.Pids.MaxEvents.V; n > 0 {
			why = append(why, fmt.Sprintf("pids limit hit (%d forks refused)", n))
		}
	}
	if r.Signal != 0 {
		why = append(why, fmt.Sprintf("killed by signal %d (%s)", int(r.Signal), unix.SignalName(r.Signal)))
	}
	if len(why) == 0 {
		return nil
	}
	s := strings.Join(why, "; ")
	return &s
}

// waiterLock takes a lock on the sandbox's directory: shared for a
// waiter (ctop wait, ctop logs -f), which holds it until it has read the
// exit record; exclusive for a monitor about to remove a --rm sandbox's
// record, which so waits for them. The kernel drops a lock with its
// holder, so a waiter that is killed blocks nobody. It returns the unlock,
// a no-op where the sandbox has no directory (it was not detached).
func (s *State) waiterLock(exclusive bool) (unlock func()) {
	fd, err := unix.Open(s.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return func() {}
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for unix.Flock(fd, how) == unix.EINTR {
	}
	return func() { unix.Close(fd) }
}

// awaitWaiters waits until every waiter has read the exit record.
func (s *State) awaitWaiters() { s.waiterLock(true)() }

// StatusText is the sandbox's status as docker ps writes it: "Up 5
// minutes", "Up 2 hours (Paused)", "Exited (3) 2 minutes ago".
func (s *State) StatusText(now time.Time) string {
	switch {
	case s.Exited():
		code := "unknown"
		if s.ExitCode != nil {
			code = fmt.Sprint(*s.ExitCode)
		}
		if s.FinishedAt == nil {
			return "Exited (" + code + ")"
		}
		return "Exited (" + code + ") " + HumanDuration(now.Sub(*s.FinishedAt)) + " ago"
	case s.Pid == 0:
		return "Starting"
	case s.Status == StatusPaused:
		return "Up " + HumanDuration(now.Sub(s.Created)) + " (Paused)"
	}
	return "Up " + HumanDuration(now.Sub(s.Created))
}

// HumanDuration writes d as docker does ("Less than a second", "About a
// minute", "3 hours").
func HumanDuration(d time.Duration) string {
	if s := int(d.Seconds()); s < 1 {
		return "Less than a second"
	} else if s == 1 {
		return "1 second"
	} else if s < 60 {
		return fmt.Sprintf("%d seconds", s)
	}
	if m := int(d.Minutes()); m == 1 {
		return "About a minute"
	} else if m < 60 {
		return fmt.Sprintf("%d minutes", m)
	}
	h := int(d.Hours() + 0.5)
	switch {
	case h == 1:
		return "About an hour"
	case h < 48:
		return fmt.Sprintf("%d hours", h)
	case h < 24*7*2:
		return fmt.Sprintf("%d days", h/24)
	case h < 24*30*2:
		return fmt.Sprintf("%d weeks", h/24/7)
	case h < 24*365*2:
		return fmt.Sprintf("%d months", h/24/30)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365)
}
