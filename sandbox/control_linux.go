package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/systemd"
)

// DefaultStopTimeout is how long Stop waits for a sandbox to end after its
// stop signal before killing its group, as docker stop does.
const DefaultStopTimeout = 10 * time.Second

// StopOptions are ctop stop's options.
type StopOptions struct {
	// Signal is sent to the sandbox's init first; 0 is the sandbox's
	// --stop-signal, else SIGTERM.
	Signal syscall.Signal
	// Timeout is how long to wait for the sandbox to end before killing
	// its group; nil is the sandbox's --stop-timeout, else
	// DefaultStopTimeout; 0 kills at once.
	Timeout *time.Duration
}

func (o StopOptions) resolve(st *State) (syscall.Signal, time.Duration) {
	sig, timeout := o.Signal, DefaultStopTimeout
	if sig == 0 {
		sig = syscall.Signal(st.StopSignal)
	}
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	if st.StopTimeout > 0 {
		timeout = st.StopTimeout
	}
	if o.Timeout != nil {
		timeout = *o.Timeout
	}
	return sig, timeout
}

// Stop ends sandbox name as docker stop does: it sends the stop signal to
// the sandbox's init (a paused sandbox is thawed to take it), waits up to
// the timeout for it to end, then kills every process in its cgroup (v2
// cgroup.kill, also in a hybrid host's v2 tree; pure v1 freeze, SIGKILL,
// thaw). It then waits until the ctop that owns the sandbox has recorded
// its end (unless that is the calling process, whose Sandbox.Wait does
// it). A sandbox that has exited already is left as it is. A stale one
// (its ctop was killed) is cleaned up here as Reap does; stale is then
// true.
//
// NOTE: the init of a pid namespace gets a signal from outside only if it
// handles it (pid_namespaces(7)), SIGKILL aside: a command that does not
// handle the stop signal runs until the timeout, as under docker.
func Stop(f *cgroup.FS, stateDir, name string, o StopOptions) (stale bool, err error) {
	st, err := Load(stateDir, name)
	if err != nil {
		return false, err
	}
	if st.Exited() {
		return false, nil
	}
	if !st.OwnerAlive() {
		_, err := settle(f, st)
		return true, err
	}
	sig, timeout := o.resolve(st)
	m, err := cgroup.Load(f, st.Cgroup)
	switch {
	case errors.Is(err, cgroup.ErrNotFound):
		// Its group is gone already: the sandbox ended and its owner is
		// tearing it down; wait for that below.
		m = nil
	case err != nil:
		return false, fmt.Errorf("stop %s: %w", name, err)
	}
	ended := false
	if m != nil && timeout > 0 && st.Pid != 0 {
		if p, err := openInit(st); err == nil {
			if p.signal(sig) == nil {
				thawIfPaused(m)
				ended = p.waitExit(timeout)
			}
			p.close()
		}
	}
	// The init ignored the signal (or never took it): kill the group.
	// After an init that ended, its owner's teardown kills what is left.
	if m != nil && !ended {
		if err := m.Kill(); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("stop %s: %w", name, err)
		}
	}
	if st.Owner == os.Getpid() {
		return false, nil // this process's Wait cleans up
	}
	return false, awaitEnd(f, st)
}

// awaitEnd waits until the owner of sandbox st has recorded its end (or
// removed its state, as it does for --rm), and cleans up itself after an owner that dies
// meanwhile.
func awaitEnd(f *cgroup.FS, st *State) error {
	for range 500 {
		cur, err := Load(filepath.Dir(st.path), st.Name)
		// A --rm sandbox's end is its record's removal.
		if errors.Is(err, ErrNotFound) || err == nil && cur.Exited() && !st.Remove {
			return nil
		}
		if !st.OwnerAlive() {
			_, err := settle(f, st)
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("stop %s: its processes are gone but ctop (pid %d) has not recorded its end yet", st.Name, st.Owner)
}

// thawIfPaused lets a paused sandbox run, so that it takes a signal.
func thawIfPaused(m *cgroup.Manager) {
	if frozen, err := m.Frozen(); err == nil && frozen {
		_ = m.Thaw()
	}
}

// errNotRunning is the error of an action on a sandbox that does not run.
func errNotRunning(action, name string) error {
	return fmt.Errorf("cannot %s sandbox %s: it is not running", action, name)
}

// running loads sandbox name, failing unless it runs.
func running(stateDir, name, action string) (*State, error) {
	st, err := Load(stateDir, name)
	if err != nil {
		return nil, err
	}
	if st.Exited() || !st.OwnerAlive() || !st.Running() {
		return nil, errNotRunning(action, name)
	}
	return st, nil
}

// Kill sends sig to sandbox name's init, as docker kill does; SIGKILL
// also thaws a paused sandbox, which v1's freezer would otherwise hold.
// It does not wait for the sandbox to end (see WaitExit).
func Kill(f *cgroup.FS, stateDir, name string, sig syscall.Signal) error {
	st, err := running(stateDir, name, "kill")
	if err != nil {
		return err
	}
	p, err := openInit(st)
	if err != nil {
		return err
	}
	defer p.close()
	if err := p.signal(sig); err != nil {
		return fmt.Errorf("kill %s: %w", name, err)
	}
	if sig == syscall.SIGKILL {
		if m, err := cgroup.Load(f, st.Cgroup); err == nil {
			thawIfPaused(m)
		}
	}
	return nil
}

// Pause freezes every process of sandbox name (v2 cgroup.freeze, v1
// freezer), as docker pause does, and returns once they are frozen.
func Pause(f *cgroup.FS, stateDir, name string) error { return setPaused(f, stateDir, name, true) }

// Unpause thaws a paused sandbox.
func Unpause(f *cgroup.FS, stateDir, name string) error { return setPaused(f, stateDir, name, false) }

func setPaused(f *cgroup.FS, stateDir, name string, pause bool) error {
	action := "unpause"
	if pause {
		action = "pause"
	}
	st, err := running(stateDir, name, action)
	if err != nil {
		return err
	}
	m, err := cgroup.Load(f, st.Cgroup)
	if err != nil {
		return fmt.Errorf("%s %s: %w", action, name, err)
	}
	frozen, err := m.Frozen()
	if err != nil {
		return fmt.Errorf("%s %s: %w", action, name, err)
	}
	switch {
	case pause && frozen:
		return fmt.Errorf("cannot pause sandbox %s: it is paused already", name)
	case !pause && !frozen:
		return fmt.Errorf("cannot unpause sandbox %s: it is not paused", name)
	case pause:
		err = m.Freeze()
	default:
		err = m.Thaw()
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", action, name, err)
	}
	return nil
}

// ReadPaused sets st.Status to StatusPaused when the running sandbox's
// group is frozen: the state file does not record a pause, the kernel
// does.
func ReadPaused(f *cgroup.FS, st *State) {
	if st.Exited() || st.Pid == 0 {
		return
	}
	if m, err := cgroup.Load(f, st.Cgroup); err == nil {
		if frozen, err := m.Frozen(); err == nil && frozen {
			st.Status = StatusPaused
		}
	}
}

// Remove removes sandbox name's record and log, as docker rm does. A
// running sandbox is refused unless force, which kills it first.
func Remove(f *cgroup.FS, stateDir, name string, force bool) error {
	st, err := Load(stateDir, name)
	if err != nil {
		return err
	}
	if !st.Exited() {
		if st.OwnerAlive() {
			if !force {
				return fmt.Errorf("cannot remove a running sandbox %s: stop it first or use -f", name)
			}
			// Its owner records the end and removes the group.
			if m, err := cgroup.Load(f, st.Cgroup); err == nil {
				if err := m.Kill(); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("rm %s: %w", name, err)
				}
			}
			if err := awaitEnd(f, st); err != nil {
				return err
			}
		} else if _, err := settle(f, st); err != nil {
			return err
		}
	}
	// The directory first, the record last: a ctop killed in between
	// leaves a record that another rm removes.
	return st.remove(true)
}

// WaitExit blocks until sandbox name has ended and returns its exit
// record, as docker wait does. Only a detached sandbox keeps one; a --rm
// sandbox's monitor waits for its waiters before removing it. A sandbox
// whose owner was killed is cleaned up as Reap does; its exit code is
// then unknown (nil).
func WaitExit(f *cgroup.FS, stateDir, name string) (*State, error) {
	st, err := Load(stateDir, name)
	if err != nil {
		return nil, err
	}
	defer st.waiterLock(false)()
	for {
		if st.Exited() {
			return st, nil
		}
		if !st.OwnerAlive() {
			// The owner may have just recorded the end and exited.
			if cur, err := Load(stateDir, name); err == nil && cur.Exited() {
				return cur, nil
			}
			if _, err := settle(f, st); err != nil {
				return nil, err
			}
			if !st.Detached || st.Remove {
				return nil, fmt.Errorf("sandbox %s: its ctop (pid %d) was killed; the exit code is unknown", name, st.Owner)
			}
			return Load(stateDir, name)
		}
		time.Sleep(20 * time.Millisecond)
		cur, err := Load(stateDir, name)
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("sandbox %s ended and its state is gone (only a sandbox run with -d keeps its exit code): %w", name, err)
		}
		if err != nil {
			return nil, err
		}
		st = cur
	}
}

// Update changes the limits of sandbox st live. A sandbox under systemd
// has them set as its scope's runtime properties, which systemd writes to
// the group, so that its record and the kernel agree. A limit whose v1
// hierarchy its start left out (a cpuset, made only when asked for)
// first gets the sandbox's group there, with its processes moved in.
func Update(f *cgroup.FS, st *State, r cgroup.Resources) error {
	if os.Geteuid() != 0 && f.Mode() == cgroup.ModeUnified {
		// As at the start: a controller not delegated, said in one line.
		// A scope's group has those delegated to the user's manager (and
		// systemd would set the others' properties to no effect); a
		// group ctop made has those its parent may enable.
		at := filepath.Dir(st.Cgroup)
		if st.Unit != "" {
			at = st.Cgroup
		}
		if cs, err := DelegatedControllers(f, at); err == nil {
			if err := CheckDelegated(cs, &Spec{Resources: r}); err != nil {
				return fmt.Errorf("update %s: %w", st.Name, err)
			}
		}
	}
	if st.Unit != "" {
		if r.Devices != nil {
			return fmt.Errorf("update %s: device rules are set once, at the start", st.Name)
		}
		if err := systemd.SetUnitResources(context.Background(), st.Unit, r); err != nil {
			return fmt.Errorf("update %s: %w", st.Name, err)
		}
		return nil
	}
	m, err := cgroup.Load(f, st.Cgroup)
	if err != nil {
		return fmt.Errorf("update %s: %w", st.Name, err)
	}
	if err := m.Extend(r); err != nil {
		return fmt.Errorf("update %s: %w", st.Name, err)
	}
	if err := m.Update(r); err != nil {
		return fmt.Errorf("update %s: %w", st.Name, err)
	}
	return nil
}

// UpdateTarget changes the limits of target live: a sandbox's name, or
// any cgroup's path (one with a '/'). A path that is a sandbox's group
// (recorded in stateDir) is updated as the sandbox is, by Update. It
// returns the group's path.
func UpdateTarget(f *cgroup.FS, stateDir, target string, r cgroup.Resources) (string, error) {
	if !strings.Contains(target, "/") {
		st, err := Load(stateDir, target)
		if err != nil {
			return "", err
		}
		return st.Cgroup, Update(f, st, r)
	}
	path := filepath.Clean(target)
	sts, _ := List(stateDir)
	for _, st := range sts {
		if filepath.Clean(st.Cgroup) == path {
			return path, Update(f, st, r)
		}
	}
	m, err := cgroup.Load(f, path)
	if err != nil {
		return path, err
	}
	if err := m.Update(r); err != nil {
		return path, fmt.Errorf("update %s: %w", path, err)
	}
	return path, nil
}

// ExecOptions are ctop exec's options.
type ExecOptions struct {
	Command []string
	Env     []string
	Workdir string
	// User overrides the sandbox's user.
	User   *User
	TTY    bool
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// inUserNS: this process is root in the sandbox's user namespace
	// already (userExecMain), so it joins only the others.
	inUserNS bool
}

// execNamespaces are entered in this order; user and time are left out
// (see Exec).
func execNamespaces() []Namespace {
	return []Namespace{NSCgroup, NSIPC, NSUTS, NSNet, NSPid, NSMount}
}

// ExecSkips lists the sandbox's namespaces that Exec cannot enter. The
// kernel lets only a process of one thread that shares no filesystem
// context join a user namespace (setns(2)), and a Go program never is
// one: Exec enters it from a launched child (launch_linux.go), where
// launches can be made. A time namespace it lets only a process that
// shares its memory with none join (EUSERS otherwise), which a launched
// child does not satisfy either.
func ExecSkips(st *State) []Namespace {
	var out []Namespace
	if slices.Contains(st.Namespaces, NSUser) && !canLaunchExec() {
		out = append(out, NSUser)
	}
	if slices.Contains(st.Namespaces, NSTime) {
		out = append(out, NSTime)
	}
	return out
}

// canLaunchExec reports whether Exec can start its command by a launch.
func canLaunchExec() bool { return directLaunchArch && haveClone3() }

// Exec runs a command in a running sandbox: in its cgroup and in each of
// its namespaces except those ExecSkips lists (in a user namespace's stead
// the command keeps the host's credentials; in a time namespace's, the
// host's clocks), with the same capabilities and no_new_privs as the
// sandbox's command. It returns the command's exit code.
//
// The namespaces are joined by an OS thread of its own, which ends with
// the command: the caller's thread and the rest of the process stay in
// the host's namespaces.
func Exec(f *cgroup.FS, st *State, o ExecOptions) (int, error) {
	type result struct {
		code int
		err  error
	}
	ch := make(chan result, 1)
	// Never on the main thread, which the runtime would keep, in the
	// sandbox's namespaces, as the process's own.
	goOffMain(func() {
		var r result
		if needsUserExec(st, o) {
			r.code, r.err = execAsUser(st, o)
		} else {
			r.code, r.err = execLocked(f, st, o)
		}
		ch <- r
	})
	r := <-ch
	return r.code, r.err
}

func execLocked(f *cgroup.FS, st *State, o ExecOptions) (int, error) {
	if !st.Running() {
		return ExitFailed, fmt.Errorf("sandbox %s is not running", st.Name)
	}
	m, err := cgroup.Load(f, st.Cgroup)
	if err != nil {
		return ExitFailed, err
	}
	// The command gets the sandbox's seccomp filter, compiled here.
	sf, err := st.Seccomp.compile(hostSeccompEnv(DefaultCapMask()))
	if err != nil {
		return ExitFailed, fmt.Errorf("exec in %s: seccomp profile %s: %w", st.Name, st.Seccomp, err)
	}
	// Open every namespace first, so a sandbox that ends meanwhile fails
	// here rather than half-entered.
	type nsFile struct {
		ns Namespace
		fd int
	}
	var fds []nsFile
	defer func() {
		for _, n := range fds {
			unix.Close(n.fd)
		}
	}()
	for _, n := range execNamespaces() {
		if !slices.Contains(st.Namespaces, n) {
			continue
		}
		p := "/proc/" + strconv.Itoa(st.Pid) + "/ns/" + string(n)
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return ExitFailed, fmt.Errorf("exec in %s: open %s: %w", st.Name, p, err)
		}
		fds = append(fds, nsFile{n, fd})
	}
	if !st.Running() {
		return ExitFailed, fmt.Errorf("sandbox %s ended", st.Name)
	}
	cgFD, useFD, err := m.FD()
	if err != nil {
		return ExitFailed, err
	}
	if useFD {
		defer unix.Close(cgFD)
	}
	// The mount namespace is joined by the child itself: once in it, the
	// kernel no longer lets /proc/self/exe (ctop's binary, outside the
	// sandbox's root) be executed.
	// So is the cgroup namespace: a caller inside it could neither clone
	// into nor move a process to the sandbox's cgroup from its own, which
	// lies outside the namespace's root (the kernel answers ENOENT).
	var mntNS, cgNS *os.File
	for _, n := range fds {
		if n.ns == NSMount || n.ns == NSCgroup {
			// Close-on-exec: it reaches the child as an extra file, not
			// by inheritance into whatever this process starts meanwhile.
			fd, err := unix.FcntlInt(uintptr(n.fd), unix.F_DUPFD_CLOEXEC, 0)
			if err != nil {
				return ExitFailed, fmt.Errorf("exec in %s: %w", st.Name, err)
			}
			f := os.NewFile(uintptr(fd), string(n.ns)+"-ns")
			defer f.Close()
			if n.ns == NSMount {
				mntNS = f
			} else {
				cgNS = f
			}
			continue
		}
		if err := unix.Setns(n.fd, int(cloneFlag(n.ns))); err != nil {
			return ExitFailed, fmt.Errorf("exec in %s: enter %s namespace: %w", st.Name, n.ns, err)
		}
	}
	spec := Spec{Name: st.Name, Command: o.Command, Env: o.Env, Workdir: o.Workdir, User: st.User,
		Namespaces: st.Namespaces, Hostname: st.Hostname, Rootfs: st.Rootfs, TTY: o.TTY,
		Seccomp: st.Seccomp, NewPrivileges: st.NewPrivileges, CapAdd: st.CapAdd, CapDrop: st.CapDrop}
	if o.User != nil {
		spec.User = o.User
	}
	if spec.Workdir == "" {
		spec.Workdir = "/"
	}
	if slices.Contains(st.Namespaces, NSUser) && canLaunchExec() && !o.inUserNS {
		if spec.User == nil {
			// The namespace's root: ctop's own ids may be unmapped there.
			spec.User = &User{}
		}
		return execLaunch(f, st, m, &spec, o, mntNS, cgNS)
	}
	// Never ctop's own binary inside the sandbox: a sealed copy.
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
	cmd := &exec.Cmd{
		// The child's fd 4 (its second extra file, below): the fds it is
		// given are set up before the execve, which could overwrite any
		// other number. The magic link resolves in the host's /proc: the
		// child joins the sandbox's mount namespace later.
		Path:       "/proc/self/fd/4",
		Args:       []string{"ctop-exec", st.Name},
		Env:        []string{envRole + "=" + roleExec, envSyncFD + "=3", envNoTermQuery},
		ExtraFiles: []*os.File{childEnd, exe},
		// NOTE: no SysProcAttr.Pdeathsig here: Go's child then compares
		// getppid() with the parent's pid, and in a pid namespace it joined
		// by setns getppid() is 0, so it would kill itself. The child arms
		// the signal itself (childMain).
		SysProcAttr: &syscall.SysProcAttr{},
	}
	cfg := &initConfig{Spec: spec, ExeFD: 4}
	cfg.setSeccomp(sf)
	// The child checks by it that this process is alive once its
	// parent-death signal is set (opParentAlive). Without pidfds (Linux
	// before 5.3) it goes without, as a launch does.
	var parent *os.File
	if fd, err := unix.PidfdOpen(os.Getpid(), 0); err == nil {
		parent = os.NewFile(uintptr(fd), "ctop-exec-pidfd")
		defer parent.Close()
	}
	for _, f := range []struct {
		file *os.File
		fd   *int
	}{{mntNS, &cfg.MountNSFD}, {cgNS, &cfg.CgroupNSFD}, {parent, &cfg.ParentFD}} {
		if f.file != nil {
			cmd.ExtraFiles = append(cmd.ExtraFiles, f.file)
			*f.fd = 3 + len(cmd.ExtraFiles) - 1
		}
	}
	sb := &Sandbox{spec: Spec{Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, TTY: o.TTY}}
	if err := sb.stdio(cmd); err != nil {
		childEnd.Close()
		return ExitFailed, err
	}
	if useFD {
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, cgFD
	}
	err = cmd.Start()
	childEnd.Close()
	for _, c := range sb.closers {
		c.Close()
	}
	sb.closers = nil
	if err != nil {
		return ExitFailed, fmt.Errorf("exec in %s: %w", st.Name, err)
	}
	if !useFD || f.Mode() != cgroup.ModeUnified {
		add := m.AddProc
		if useFD {
			add = m.AddProcV1
		}
		if err := add(cmd.Process.Pid); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return ExitFailed, err
		}
	}
	if err := send(parentEnd, message{Type: msgConfig, Config: cfg}); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return ExitFailed, err
	}
	var msg message
	if derr := jsonDecode(parentEnd, &msg); derr == nil && msg.Type == msgError {
		_ = cmd.Wait()
		return msg.Code, errors.New(msg.Error)
	}
	if err := sb.attachConsole(); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return ExitFailed, err
	}
	err = cmd.Wait()
	sb.relays.Wait()
	if sb.pty != nil {
		sb.pty.Close()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ws.ExitStatus(), nil
	}
	if err != nil {
		return ExitFailed, err
	}
	return 0, nil
}

// execLaunch runs exec's command by a launch: a child cloned from this
// thread (in the sandbox's ipc, uts, net and pid namespaces already) that
// joins the sandbox's cgroups, then its cgroup, mount and user namespaces,
// and makes the rest of the plan by raw system calls. No ctop binary runs
// in the sandbox, and the child, of one thread and its own filesystem
// context, may join the user namespace.
func execLaunch(f *cgroup.FS, st *State, m *cgroup.Manager, spec *Spec, o ExecOptions, mntNS, cgNS *os.File) (int, error) {
	p := "/proc/" + strconv.Itoa(st.Pid) + "/ns/user"
	userFD, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return ExitFailed, fmt.Errorf("exec in %s: open %s: %w", st.Name, p, err)
	}
	defer unix.Close(userFD)
	e := planEnv{via: viaExec, launched: true, userNSFD: userFD}
	for _, n := range []struct {
		f  *os.File
		fd *int
	}{{mntNS, &e.mountNSFD}, {cgNS, &e.cgroupNSFD}} {
		if n.f != nil {
			*n.fd = int(n.f.Fd())
		}
	}
	if fd, err := unix.PidfdOpen(os.Getpid(), 0); err == nil {
		defer unix.Close(fd)
		e.parentFD = fd
	}
	// The streams as for the re-executed child, copied above 2 (see
	// Sandbox.launch).
	sb := &Sandbox{spec: Spec{Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, TTY: o.TTY}}
	cmd := &exec.Cmd{SysProcAttr: &syscall.SysProcAttr{}}
	if err := sb.stdio(cmd); err != nil {
		return ExitFailed, err
	}
	// Our copies of the child's ends go once it has started, so that the
	// relays see EOF when it ends.
	closeStdio := func() {
		for i, fd := range e.stdio {
			if fd > 0 {
				unix.Close(fd)
				e.stdio[i] = 0
			}
		}
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
		e.stdio[i] = fd
	}
	cgFD, useFD, err := m.FD()
	if err != nil {
		return ExitFailed, err
	}
	if useFD {
		defer unix.Close(cgFD)
	}
	if !useFD || f.Mode() != cgroup.ModeUnified {
		for _, d := range m.V1Dirs() {
			e.joins = append(e.joins, filepath.Join(d, "tasks"))
		}
	}
	if !useFD {
		if dir, ok := m.Dir(""); ok {
			e.joins = append(e.joins, filepath.Join(dir, "cgroup.procs"))
		}
	}
	start := func(e planEnv, cgFD int) (int, error) {
		l := buildPlan(spec, e).launch()
		l.cgroupFD = cgFD
		a, err := newAttempt(l)
		if err != nil {
			return 0, err
		}
		// This thread, in the sandbox's namespaces, is the child's parent.
		a.fork()
		return a.wait()
	}
	into := -1
	if useFD {
		into = cgFD
	}
	pid, err := start(e, into)
	var serr *os.SyscallError
	if err != nil && useFD && errors.As(err, &serr) && serr.Syscall == "clone3" && noCloneInto(err) {
		// Before Linux 5.7: the child joins the v2 group itself.
		dir, _ := m.Dir("")
		e.joins = append(e.joins, filepath.Join(dir, "cgroup.procs"))
		pid, err = start(e, -1)
	}
	closeStdio()
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
	ps, err := proc.Wait()
	sb.relays.Wait()
	if sb.pty != nil {
		sb.pty.Close()
	}
	if err != nil {
		return ExitFailed, err
	}
	ws := ps.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}
