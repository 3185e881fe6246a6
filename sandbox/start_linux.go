package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctop-dev/ctop/cgroup"
)

// Sandbox is a started sandbox.
type Sandbox struct {
	// Name and Pid (as the host sees it) of the sandbox.
	Name string
	Pid  int
	// StartLatency is the time from Start until the command was executing.
	StartLatency time.Duration
	// Started is when Start was called.
	Started time.Time

	spec Spec
	fs   *cgroup.FS
	mgr  *cgroup.Manager
	// removeParent: the parent group is ctop's to remove once empty.
	removeParent bool
	cmd          *exec.Cmd
	state        *State
	workTmp      string // overlay work dir beside a kept upper layer
	pty          *os.File
	closers      []io.Closer    // our copies of the child's stdio ends
	relays       sync.WaitGroup // output relays, done at EOF
	// monitor is set for a detached sandbox: Wait waits for it.
	monitor *exec.Cmd
	waited  bool
	// release ends the lock of the thread that cloned the init (see
	// startOnOwnThread) once the init has been reaped.
	release     chan struct{}
	releaseOnce sync.Once
	result      Result
	err         error
}

// Result is how a sandbox ended.
type Result struct {
	// ExitCode is the command's exit status, or 128+N when signal N killed it.
	ExitCode int
	// Signal is the signal that killed the command, 0 when it exited.
	Signal syscall.Signal
	// Wall is the time from Start until the command ended.
	Wall time.Duration
	// Group is the sandbox's cgroup as read just before it was removed
	// (nil for a detached sandbox): CPU time, peak memory, OOM kills,
	// throttling, IO, and its own limits (not Effective, which would need
	// every ancestor's; see cgroup.Manager.Read).
	Group *cgroup.Group
	// Limits are the limits the sandbox ran under.
	Limits cgroup.Resources
}

// Spec returns the (normalized) spec the sandbox was started with.
func (s *Sandbox) Spec() Spec { return s.spec }

// Cgroup is the sandbox's cgroup path.
func (s *Sandbox) Cgroup() string { return s.spec.CgroupPath() }

// Start starts a sandbox and returns once its command is executing. The
// caller must call Wait, which also removes the sandbox's cgroup and state.
// A failure is a *StartError carrying the exit code docker would give it;
// nothing is left behind.
func Start(spec Spec) (*Sandbox, error) {
	t0 := time.Now()
	spec.normalize()
	if err := spec.Validate(); err != nil {
		return nil, startErr(125, err)
	}
	if spec.Detach {
		return startDetached(spec, t0)
	}
	f, err := cgroup.Open("/")
	if err != nil {
		return nil, startErr(125, err)
	}
	sb := &Sandbox{Name: spec.Name, Started: t0, spec: spec, fs: f}
	if err := sb.start(); err != nil {
		sb.abort()
		return nil, startErr(125, err)
	}
	sb.StartLatency = time.Since(t0)
	return sb, nil
}

func (sb *Sandbox) start() error {
	spec := &sb.spec
	sb.state = &State{
		Name: spec.Name, Created: sb.Started, Cgroup: spec.CgroupPath(), Command: spec.Command,
		Namespaces: spec.Namespaces, Hostname: spec.Hostname, Network: spec.Network,
		Rootfs: spec.Rootfs, Overlay: spec.Overlay, User: spec.User, Limits: Summary(spec.Resources),
	}
	// The parent is removed with the last sandbox only if it is ctop's own:
	// made here, or named ctop. A parent the user chose and made stays.
	if _, err := cgroup.Load(sb.fs, spec.CgroupParent); errors.Is(err, cgroup.ErrNotFound) || ownParent(spec.CgroupParent) {
		sb.removeParent, sb.state.MadeParent = true, true
	}
	if err := reserve(spec.StateDir, sb.state); err != nil {
		return err
	}
	if spec.logToState {
		log, err := os.OpenFile(filepath.Join(sb.state.dir, "output.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("sandbox log: %w", err)
		}
		defer log.Close()
		spec.Stdout, spec.Stderr = log, log
		sb.state.Log, sb.state.Detached = log.Name(), true
	}
	mgr, err := cgroup.Create(sb.fs, spec.CgroupPath(), spec.Resources)
	if err != nil {
		return err
	}
	sb.mgr = mgr
	cfg := &initConfig{Spec: *spec}
	cfg.Cwd, _ = os.Getwd()
	if spec.Overlay {
		if cfg.Overlay, err = sb.overlayDirs(); err != nil {
			return err
		}
	}
	parentEnd, childEnd, err := socketpair()
	if err != nil {
		return err
	}
	defer parentEnd.Close()
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{"ctop-init", spec.Name},
		Env:        []string{envRole + "=" + roleInit, envSyncFD + "=3", envNoTermQuery},
		ExtraFiles: []*os.File{childEnd},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: cloneFlags(spec.Namespaces),
			// The sandbox dies with its parent; init re-arms this after
			// changing credentials.
			Pdeathsig: syscall.SIGKILL,
		},
	}
	if spec.Has(NSUser) {
		setIDMaps(cmd.SysProcAttr)
	}
	if err := sb.stdio(cmd); err != nil {
		childEnd.Close()
		return err
	}
	// Start in the cgroup (clone3 CLONE_INTO_CGROUP) where there is a v2
	// group; on v1 (and for the v1 hierarchies of a hybrid host) the parent
	// moves the child before telling it to go on.
	fd, useFD, err := mgr.FD()
	if err != nil {
		childEnd.Close()
		return err
	}
	if useFD {
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
		defer unix.Close(fd)
	}
	sb.release = make(chan struct{})
	err = startOnOwnThread(cmd, sb.release)
	if err != nil && useFD && (errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.E2BIG) || errors.Is(err, unix.EINVAL)) {
		// A kernel before 5.7 has no CLONE_INTO_CGROUP.
		cmd.SysProcAttr.UseCgroupFD, useFD = false, false
		err = startOnOwnThread(cmd, sb.release)
	}
	childEnd.Close()
	for _, c := range sb.closers {
		c.Close()
	}
	sb.closers = nil
	if err != nil {
		return fmt.Errorf("start sandbox init: %w", err)
	}
	sb.cmd = cmd
	sb.Pid = cmd.Process.Pid
	if !useFD {
		if err := mgr.AddProc(sb.Pid); err != nil {
			return err
		}
	} else if sb.fs.Mode() != cgroup.ModeUnified {
		if err := mgr.AddProcV1(sb.Pid); err != nil {
			return err
		}
	}
	if err := send(parentEnd, message{Type: msgConfig, Config: cfg}); err != nil {
		return err
	}
	// EOF means execve succeeded; a message means the child failed.
	var m message
	if err := json.NewDecoder(parentEnd).Decode(&m); err == nil {
		_ = cmd.Wait()
		sb.releaseThread()
		sb.cmd = nil
		if m.Type == msgError {
			return &StartError{Code: m.Code, Err: errors.New(m.Error)}
		}
		return fmt.Errorf("sandbox init: unexpected message %q", m.Type)
	} else if !errors.Is(err, io.EOF) {
		return fmt.Errorf("sandbox init: %w", err)
	}
	sb.state.Pid = sb.Pid
	sb.state.PidStart, _ = procStart(sb.Pid)
	return sb.state.write()
}

// startOnOwnThread starts cmd from an OS thread locked to one goroutine
// until release is closed. The kernel sends the parent-death signal when
// the thread that cloned the child exits (prctl(2), go.dev/issue/27505),
// and Go ends a thread when a goroutine locked to it returns: had the
// cloning thread been shared, any goroutine that locks and ends on it
// (ctop exec does) would kill the sandbox.
func startOnOwnThread(cmd *exec.Cmd, release <-chan struct{}) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		err := cmd.Start()
		errc <- err
		if err == nil {
			<-release
		}
		runtime.UnlockOSThread()
	}()
	return <-errc
}

func (sb *Sandbox) releaseThread() {
	if sb.release != nil {
		sb.releaseOnce.Do(func() { close(sb.release) })
	}
}

func socketpair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox sync socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "ctop-sync-parent"), os.NewFile(uintptr(fds[1]), "ctop-sync-child"), nil
}

// cloneFlags maps namespaces to CLONE_NEW* flags. The cgroup namespace is
// left out: init unshares it once it is in its cgroup (see sync.go).
func cloneFlags(ns []Namespace) uintptr {
	var f uintptr
	for _, n := range ns {
		if n != NSCgroup {
			f |= n.Flag()
		}
	}
	return f
}

// setIDMaps maps the user namespace: as root, uids and gids 0-65535 map to
// themselves (the namespace then only confines capabilities to what it
// owns); otherwise root inside maps to the caller.
func setIDMaps(a *syscall.SysProcAttr) {
	if os.Geteuid() == 0 {
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
		a.GidMappingsEnableSetgroups = false
		return
	}
	a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
	a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
}

// overlayDirs prepares the upper, work and merged directories of an
// overlay root. Without --keep-upper all three live in the state directory
// and go with it; with it, the work directory is made beside the kept upper
// layer, since overlayfs needs both on one filesystem.
func (sb *Sandbox) overlayDirs() (*overlayDirs, error) {
	o := &overlayDirs{Lower: sb.spec.Rootfs, Merged: filepath.Join(sb.state.dir, "merged")}
	if k := sb.spec.KeepUpper; k != "" {
		if err := os.MkdirAll(k, 0o755); err != nil {
			return nil, fmt.Errorf("--keep-upper %s: %w", k, err)
		}
		abs, err := filepath.Abs(k)
		if err != nil {
			return nil, fmt.Errorf("--keep-upper %s: %w", k, err)
		}
		o.Upper = abs
		if sb.workTmp, err = os.MkdirTemp(filepath.Dir(abs), ".ctop-work-"); err != nil {
			return nil, fmt.Errorf("--keep-upper %s: work directory: %w", k, err)
		}
		o.Work = sb.workTmp
	} else {
		o.Upper, o.Work = filepath.Join(sb.state.dir, "upper"), filepath.Join(sb.state.dir, "work")
	}
	for _, d := range []string{o.Upper, o.Work, o.Merged} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("--overlay: %w", err)
		}
	}
	// Mount points go in a layer of their own between the rootfs and the
	// upper layer (docker's "init layer"), so the upper layer holds only
	// what the command changed.
	initLayer := filepath.Join(sb.state.dir, "init")
	dirs := []string{"proc", "dev", "sys"}
	for _, t := range sb.spec.Tmpfs {
		dirs = append(dirs, t.Dest)
	}
	for _, b := range sb.spec.Binds {
		if st, err := os.Stat(b.Source); err == nil && !st.IsDir() {
			dirs = append(dirs, filepath.Dir(b.Dest))
			continue
		}
		dirs = append(dirs, b.Dest)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(initLayer, d), 0o755); err != nil {
			return nil, fmt.Errorf("--overlay: init layer: %w", err)
		}
	}
	for _, b := range sb.spec.Binds {
		if st, err := os.Stat(b.Source); err == nil && !st.IsDir() {
			if err := os.WriteFile(filepath.Join(initLayer, b.Dest), nil, 0o644); err != nil {
				return nil, fmt.Errorf("--overlay: init layer: %w", err)
			}
		}
	}
	o.Lower = initLayer + ":" + o.Lower
	return o, nil
}

// stdio gives the child its streams: files are passed on, other readers and
// writers are relayed through pipes, and with a TTY the child gets a new
// pseudo-terminal's replica as all three.
func (sb *Sandbox) stdio(cmd *exec.Cmd) error {
	s := &sb.spec
	if s.TTY {
		ptm, pts, err := openPTY()
		if err != nil {
			return err
		}
		sb.pty = ptm
		cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
		cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, true, 0
		sb.closers = append(sb.closers, pts)
		if s.Stdin != nil {
			go func() { _, _ = io.Copy(ptm, s.Stdin) }()
		}
		if s.Stdout != nil {
			sb.relays.Add(1)
			go func() {
				defer sb.relays.Done()
				// EIO once the last replica is closed: the end of output.
				_, _ = io.Copy(s.Stdout, ptm)
			}()
		}
		return nil
	}
	in, err := sb.input(s.Stdin)
	if err != nil {
		return err
	}
	cmd.Stdin = in
	if cmd.Stdout, err = sb.output(s.Stdout); err != nil {
		return err
	}
	if s.Stderr == s.Stdout && s.Stdout != nil {
		cmd.Stderr = cmd.Stdout
	} else if cmd.Stderr, err = sb.output(s.Stderr); err != nil {
		return err
	}
	return nil
}

func (sb *Sandbox) input(r io.Reader) (*os.File, error) {
	if f, ok := r.(*os.File); ok {
		return f, nil
	}
	if r == nil {
		f, err := os.Open(os.DevNull)
		if err == nil {
			sb.closers = append(sb.closers, f)
		}
		return f, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	sb.closers = append(sb.closers, pr)
	go func() {
		_, _ = io.Copy(pw, r)
		pw.Close()
	}()
	return pr, nil
}

func (sb *Sandbox) output(w io.Writer) (*os.File, error) {
	if f, ok := w.(*os.File); ok {
		return f, nil
	}
	if w == nil {
		f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err == nil {
			sb.closers = append(sb.closers, f)
		}
		return f, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("output pipe: %w", err)
	}
	sb.closers = append(sb.closers, pw)
	sb.relays.Add(1)
	go func() {
		defer sb.relays.Done()
		_, _ = io.Copy(w, pr)
		pr.Close()
	}()
	return pw, nil
}

// Resize sets the window size of the sandbox's TTY.
func (sb *Sandbox) Resize(rows, cols uint16) error {
	if sb.pty == nil {
		return nil
	}
	return unix.IoctlSetWinsize(int(sb.pty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
}

// Wait waits for the command to end, reads the sandbox's cgroup one last
// time, kills whatever the command left running in it, and removes the
// cgroup and the state. It may be called more than once.
func (sb *Sandbox) Wait() (Result, error) {
	if sb.waited {
		return sb.result, sb.err
	}
	sb.waited = true
	if sb.monitor != nil {
		sb.result, sb.err = sb.waitDetached()
		return sb.result, sb.err
	}
	err := sb.cmd.Wait()
	sb.releaseThread()
	r := Result{Wall: time.Since(sb.Started), Limits: sb.spec.Resources}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			r.Signal = ws.Signal()
			r.ExitCode = 128 + int(r.Signal)
		} else {
			r.ExitCode = ws.ExitStatus()
		}
	default:
		sb.err = fmt.Errorf("wait for sandbox %s: %w", sb.Name, err)
	}
	if sb.mgr != nil {
		if g, err := sb.mgr.Read(); g != nil {
			r.Group = g
		} else if sb.err == nil {
			sb.err = err
		}
	}
	sb.result = r
	if err := sb.teardown(); err != nil && sb.err == nil {
		sb.err = err
	}
	return sb.result, sb.err
}

// teardown removes everything the sandbox had: processes, cgroup, state,
// overlay work directory.
func (sb *Sandbox) teardown() error {
	var errs []error
	if sb.mgr != nil {
		if err := sb.mgr.Kill(); err != nil {
			errs = append(errs, err)
		} else if err := sb.mgr.Delete(); err != nil {
			errs = append(errs, err)
		}
		if sb.removeParent {
			if _, err := cgroup.RemoveIfEmpty(sb.fs, sb.spec.CgroupParent); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, c := range sb.closers {
		c.Close()
	}
	sb.relays.Wait()
	if sb.pty != nil {
		sb.pty.Close()
	}
	if sb.workTmp != "" {
		if err := os.RemoveAll(sb.workTmp); err != nil {
			errs = append(errs, err)
		}
	}
	if sb.state != nil && sb.state.dir != "" {
		if err := os.RemoveAll(sb.state.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove sandbox state: %w", err))
		}
		// The state root goes too once empty; ErrExist-like failures mean
		// another sandbox still runs.
		_ = os.Remove(sb.spec.StateDir)
	}
	return errors.Join(errs...)
}

// abort undoes a failed start.
func (sb *Sandbox) abort() {
	if sb.cmd != nil && sb.cmd.Process != nil {
		_ = sb.cmd.Process.Kill()
		_ = sb.cmd.Wait()
	}
	sb.releaseThread()
	_ = sb.teardown()
}
