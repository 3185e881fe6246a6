package sandbox

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// A nest is the OS thread that clones a launched sandbox's init. It makes
// the sandbox's namespaces first, by unsharing them itself, and prepares
// what in them needs no process of the sandbox: mount propagation, the
// hostname, loopback and, for most sandboxes, the host's view (hostView:
// the host's files read-only, the private directories, /dev, a fresh
// /sys). It does so while ctop makes the sandbox's cgroups on another
// thread; the child it clones then inherits the namespaces and the
// mounts, and makes only what must follow the clone. Each half costs
// about 0.6 to 0.9 ms, the kernel serializes neither against the other,
// and the child could not be cloned before both were done (it is cloned
// into its cgroup).
//
// The thread is locked to its goroutine and never unlocked, so the
// runtime ends it, and with it ctop's hold on the namespaces, when that
// goroutine returns: after the init has been reaped (release), or at once
// when the start fails first. It is also the thread the init's
// parent-death signal watches (see onOwnThread).
type nest struct {
	// attempts are the starts to make, in order; closed when the start
	// gives up. Buffered, so that a nest still making the namespaces
	// finds the next attempt waiting, and nobody waits to hand it over.
	attempts chan *attempt
}

// nestFlags are the namespaces a nest unshares: every one asked for but
// the user namespace (a sandbox with one is never launched), the cgroup
// namespace, which the child unshares once it is in its
// cgroups, and the time namespace, since a child sharing its parent's
// memory cannot be cloned into a time namespace its parent has unshared
// for its children (the kernel answers EINVAL): clone3 makes that one.
func nestFlags(s *Spec) int {
	var f int
	for _, n := range s.Namespaces {
		if n != NSCgroup && n != NSTime && n != NSUser {
			f |= int(cloneFlag(n))
		}
	}
	return f
}

// startNest starts the thread, which makes the namespaces of s at once.
// Once release is closed the thread ends.
func startNest(s *Spec, release <-chan struct{}) *nest {
	n := &nest{attempts: make(chan *attempt, 2)}
	goOffMain(func() { n.run(s, release) })
	return n
}

// goOffMain runs fn in a new goroutine locked, for good, to an OS thread
// that is not the main thread: fn may move its thread into other
// namespaces, and the runtime ends the thread, and with it that hold on
// them, when the goroutine returns. The main thread it never ends (it
// parks it instead), and /proc/PID/ns shows the main thread's namespaces
// as the process's own; a goroutine that finds itself there holds it
// locked while it starts fn's goroutine, which so lands on another.
func goOffMain(fn func()) {
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			fn()
			return
		}
		locked := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(locked)
			fn()
		}()
		<-locked
		runtime.UnlockOSThread()
	}()
}

// run is the nest's goroutine, locked to its thread (goOffMain).
func (n *nest) run(s *Spec, release <-chan struct{}) {
	err := n.enter(s)
	for a := range n.attempts {
		if err != nil {
			a.giveUp(err)
			continue
		}
		if a.fork(); a.err == nil {
			// The child exists: whether it runs the command (the
			// waiter learns which) the thread stays until release.
			<-release
			return
		}
	}
}

// enter unshares the namespaces and prepares them: the plan's first
// steps (nestSteps), which the re-executed init makes as well, and for
// most sandboxes the host's view in them (hostView), which the init makes
// among its mounts.
func (n *nest) enter(s *Spec) error {
	steps := nestSteps(s, viaLaunch)
	l := &launch{ops: make([]op, 0, len(steps)), keep: make([][]byte, 0, 2*len(steps))}
	for i := range steps {
		l.add(&steps[i])
	}
	i, errno := l.run()
	// A copy of a tree a failed step left unmoved is ctop's fd.
	for _, slot := range l.slots {
		if *slot >= 0 {
			unix.Close(int(*slot))
			*slot = -1
		}
	}
	if errno != 0 {
		return fmt.Errorf("%s: %w", l.ops[i].what, errno)
	}
	return nil
}

// start has the nest clone the child of l and returns its pid once it runs
// the command. meanwhile (when not nil) runs while the nest forks and the
// child sets itself up, when the caller would otherwise only wait.
func (n *nest) start(l *launch, meanwhile func()) (int, error) {
	a, err := newAttempt(l)
	if err != nil {
		return 0, err
	}
	n.attempts <- a
	if meanwhile != nil {
		meanwhile()
	}
	return a.wait()
}

// close ends a thread that has not made a child (it is then in no
// process's way); one that has waits for release.
func (n *nest) close() { close(n.attempts) }
