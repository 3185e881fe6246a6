package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// --init: the sandbox's pid 1 is ctop itself (role pid1), a minimal init
// in the manner of docker's tini. It starts the command as its one child,
// passes on the signals a container's init is sent, reaps every process
// orphaned into it, and exits with the command's status once the command
// ends (the kernel then kills what is left in the pid namespace).
//
// It runs from a sealed in-memory copy of ctop's binary, never from the
// host's file: the command could otherwise reach that file through
// /proc/1/exe and overwrite it (CVE-2019-5736, runc's fix is the same).
// NOTE: the copy is executed inside the sandbox, so in a --rootfs without
// the host's dynamic loader only a static ctop (make build) can run it:
// execve then fails with ENOENT, for the interpreter.

// rolePID1 is the role of the --init process (see sync.go).
const rolePID1 = "pid1"

// pid1Forwarded are the signals the init passes on to the command, as
// tini does for the ones a container runtime and a terminal send.
func pid1Forwarded() []os.Signal {
	return []os.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}
}

// pid1Exec is what a plan executes instead of the command for --init:
// the sealed copy open as fd, with the command as its arguments.
func pid1Exec(p *plan, fd int) {
	p.argv = append([]string{"ctop-init"}, p.argv...)
	p.env = append(p.env, envRole+"="+rolePID1)
	p.paths = []string{"/proc/self/fd/" + strconv.Itoa(fd)}
}

// pid1Main is the --init process: it returns the exit status to end
// with.
func pid1Main(argv []string) int {
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "ctop-init: no command")
		return ExitFailed
	}
	// Named as ps shows it, not after the descriptor it was run from.
	_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&[]byte("ctop-init\x00")[0])), 0, 0, 0)
	// Caught before the child starts, so that none is lost meanwhile.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, pid1Forwarded()...)
	env := os.Environ()
	child, err := startCommand(argv, env)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctop:", err)
		var se *StartError
		if errors.As(err, &se) {
			return se.Code
		}
		return ExitCannotExec
	}
	type exit struct {
		pid int
		ws  unix.WaitStatus
	}
	exits := make(chan exit)
	go func() {
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, 0, nil)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				close(exits)
				return
			}
			exits <- exit{pid, ws}
		}
	}()
	for {
		select {
		case s := <-sigs:
			_ = unix.Kill(child, s.(syscall.Signal))
		case e, ok := <-exits:
			if !ok {
				return ExitFailed
			}
			if e.pid != child {
				continue // an orphan, reaped
			}
			if e.ws.Signaled() {
				return 128 + int(e.ws.Signal())
			}
			return e.ws.ExitStatus()
		}
	}
}

// startCommand starts the command as execvp would find it in env's PATH,
// with the init's streams, and returns its pid.
func startCommand(argv, env []string) (int, error) {
	paths := candidates(argv[0], env)
	attr := &os.ProcAttr{Env: env, Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}}
	denied, last := -1, syscall.Errno(unix.ENOENT)
	for i, path := range paths {
		p, err := os.StartProcess(path, argv, attr)
		if err == nil {
			pid := p.Pid
			_ = p.Release()
			return pid, nil
		}
		var e syscall.Errno
		if !errors.As(err, &e) {
			return 0, fmt.Errorf("exec %s: %w", path, err)
		}
		switch e {
		case unix.ENOENT, unix.ENOTDIR:
		case unix.EACCES:
			if denied < 0 {
				denied = i
			}
		default:
			return 0, execFailure(argv[0], paths, i, e)
		}
		last = e
	}
	if denied >= 0 {
		return 0, execFailure(argv[0], paths, denied, unix.EACCES)
	}
	return 0, execFailure(argv[0], paths, -1, last)
}
