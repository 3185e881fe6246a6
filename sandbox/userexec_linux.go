package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ctop-dev/ctop/cgroup"
)

// ctop exec by a user who is not root, into a sandbox of its own (which
// has a user namespace: see cmd/ctop run's forUser). Root joins the
// sandbox's other namespaces from a thread of ctop exec and its user
// namespace last (execLaunch); such a caller may not: joining a network,
// IPC, UTS or pid namespace takes CAP_SYS_ADMIN in the caller's own user
// namespace too (setns(2)), which only root has on the host. So the
// caller first starts a child that joins the sandbox's user namespace
// alone, becomes its root, and executes a sealed copy of ctop in the role
// userexec; that process, root there with every capability in it, joins
// the other namespaces as root's ctop exec does and runs the command:
//
//	ctop exec (uid 1000)                 launched child
//	--------------------                 ----------------------------------
//	open the sandbox's user namespace,
//	a sealed copy of ctop, socketpair
//	launch --------------------------->  setns(user), setgroups (where the
//	                                     namespace allows it), setresgid 0,
//	                                     setresuid 0, parent-death signal,
//	                                     execve the sealed copy (userexec)
//	send msgConfig{UserExec} ---------->  read it; ctop exec as root does
//	                                     (Exec), its streams its own
//	read until EOF <--------------------  msgError on failure; exit with the
//	wait; exit with its status            command's status
type userExec struct {
	State   State    `json:"state"`
	Command []string `json:"command"`
	Env     []string `json:"env,omitempty"`
	Workdir string   `json:"workdir,omitempty"`
	User    *User    `json:"user,omitempty"`
	TTY     bool     `json:"tty,omitempty"`
}

// roleUserExec is the process that runs ctop exec inside the sandbox's
// user namespace (userExecMain).
const roleUserExec = "userexec"

// needsUserExec reports whether ctop exec must enter st's user namespace
// before its other namespaces: the caller is not root there already.
func needsUserExec(st *State, o ExecOptions) bool {
	return os.Geteuid() != 0 && !o.inUserNS && slices.Contains(st.Namespaces, NSUser)
}

// execAsUser is Exec for a caller who is not root (see above). It runs on
// a thread of its own (goOffMain), the launched child's parent until the
// command ends.
func execAsUser(st *State, o ExecOptions) (int, error) {
	if !canLaunchExec() {
		return ExitFailed, fmt.Errorf("exec in %s: entering its user namespace as uid %d needs clone3 (Linux 5.3) on a 64-bit machine", st.Name, os.Geteuid())
	}
	if !st.Running() {
		return ExitFailed, fmt.Errorf("sandbox %s is not running", st.Name)
	}
	p := "/proc/" + strconv.Itoa(st.Pid) + "/ns/user"
	userFD, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return ExitFailed, fmt.Errorf("exec in %s: open %s: %w", st.Name, p, err)
	}
	defer unix.Close(userFD)
	exe, err := sealedExe()
	if err != nil {
		return ExitFailed, fmt.Errorf("exec in %s: %w", st.Name, err)
	}
	defer exe.Close()
	parentEnd, childEnd, err := socketpair()
	if err != nil {
		return ExitFailed, err
	}
	defer parentEnd.Close()
	defer childEnd.Close()
	steps := []step{{kind: stepSetns, fd: userFD, n: unix.CLONE_NEWUSER, what: "enter user namespace"}}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/setgroups"); err == nil && strings.TrimSpace(string(b)) == "allow" {
		// Not the caller's groups, as the sandbox's init (privileges).
		steps = append(steps, step{kind: stepSetgroups, what: "setgroups"})
	}
	steps = append(steps,
		step{kind: stepSetgid, what: "become the user namespace's root: setgid 0"},
		step{kind: stepSetuid, what: "become the user namespace's root: setuid 0"},
		step{kind: stepPdeathsig, what: "set parent-death signal"},
		// The launch's fork gives the step its pidfd of ctop exec.
		step{kind: stepParentAlive, what: "ctop exec exited while starting the command"})
	// The streams, as for root's (execLaunch), but never a terminal: the
	// process inside makes the command's (o.TTY) from them.
	sb := &Sandbox{spec: Spec{Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr}}
	cmd := &exec.Cmd{SysProcAttr: &syscall.SysProcAttr{}}
	if err := sb.stdio(cmd); err != nil {
		return ExitFailed, err
	}
	var stdio []int
	closeStdio := func() {
		for _, fd := range stdio {
			unix.Close(fd)
		}
		stdio = nil
		for _, c := range sb.closers {
			c.Close()
		}
		sb.closers = nil
	}
	defer closeStdio()
	for i, s := range []any{cmd.Stdin, cmd.Stdout, cmd.Stderr} {
		fd, err := unix.FcntlInt(s.(*os.File).Fd(), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			return ExitFailed, fmt.Errorf("exec in %s: stdio: %w", st.Name, err)
		}
		stdio = append(stdio, fd)
		steps = append(steps, step{kind: stepDup, fd: fd, n: i, what: "set up fd " + strconv.Itoa(i)})
	}
	sync := int(childEnd.Fd())
	pl := &plan{
		steps: steps,
		argv:  []string{"ctop-exec", st.Name},
		env:   []string{envRole + "=" + roleUserExec, envSyncFD + "=" + strconv.Itoa(sync), envNoTermQuery},
		// Close-on-exec, as execve of an ELF file through it allows.
		paths: []string{"/proc/self/fd/" + strconv.Itoa(int(exe.Fd()))},
	}
	l := pl.launch()
	// The one fd the process inside keeps.
	l.call("keep the sync socket open", unix.SYS_FCNTL, uintptr(sync), unix.F_SETFD, 0)
	a, err := newAttempt(l)
	if err != nil {
		return ExitFailed, fmt.Errorf("exec in %s: %w", st.Name, err)
	}
	a.fork()
	pid, err := a.wait()
	closeStdio()
	childEnd.Close()
	if err != nil {
		var se *StartError
		if errors.As(err, &se) {
			return se.Code, se.Err
		}
		return ExitFailed, fmt.Errorf("exec in %s: %w", st.Name, err)
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		return ExitFailed, err
	}
	req := &userExec{State: *st, Command: o.Command, Env: o.Env, Workdir: o.Workdir, User: o.User, TTY: o.TTY}
	var m message
	err = send(parentEnd, message{Type: msgConfig, Config: &initConfig{UserExec: req}})
	if err == nil {
		// EOF once the process inside has ended; a message before it
		// is its failure.
		if derr := jsonDecode(parentEnd, &m); derr != nil && !errors.Is(derr, io.EOF) {
			err = fmt.Errorf("exec in %s: %w", st.Name, derr)
		}
	}
	if err != nil {
		_ = proc.Kill()
	}
	ps, werr := proc.Wait()
	sb.relays.Wait()
	switch {
	case err != nil:
		return ExitFailed, err
	case m.Type == msgError:
		return m.Code, errors.New(m.Error)
	case werr != nil:
		return ExitFailed, werr
	}
	ws := ps.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// userExecMain is the process execAsUser starts, root of the sandbox's
// user namespace: it runs the request as root's ctop exec does, on its
// own streams, and returns the command's status.
func userExecMain(sync *os.File) int {
	var m message
	fail := func(code int, err error) int {
		if serr := send(sync, message{Type: msgError, Code: code, Error: err.Error()}); serr != nil {
			fmt.Fprintln(os.Stderr, "ctop:", err)
		}
		return code
	}
	if err := jsonDecode(sync, &m); err != nil || m.Type != msgConfig || m.Config == nil || m.Config.UserExec == nil {
		return fail(ExitFailed, fmt.Errorf("read ctop exec's request: %v", err))
	}
	// Kept from the command, open until this process ends.
	unix.CloseOnExec(int(sync.Fd()))
	r := m.Config.UserExec
	f, err := cgroup.Open("/")
	if err != nil {
		return fail(ExitFailed, err)
	}
	o := ExecOptions{Command: r.Command, Env: r.Env, Workdir: r.Workdir, User: r.User, TTY: r.TTY,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, inUserNS: true}
	code, err := Exec(f, &r.State, o)
	if err != nil {
		return fail(code, err)
	}
	return code
}
