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
	"github.com/ctop-dev/ctop/systemd"
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
	// sd is the connection to systemd of a sandbox under ManagerSystemd,
	// cgroupPath its scope's group once made.
	sd         *systemd.Conn
	cgroupPath string
	// scopeAsked: startScope asked systemd for the scope (teardown
	// stops it).
	scopeAsked bool
	// watch keeps the last reading of a scope's group, which systemd
	// removes as soon as it is empty: maybe before Wait's.
	watch *cgroup.FinalWatch
	// pidsAfterExec is the scope's pids limit, set once the init has
	// executed the command (see startScope).
	pidsAfterExec *cgroup.Limit
	// proc is the sandbox's init, the process Wait reaps.
	proc    *os.Process
	state   *State
	workTmp string // overlay work dir beside a kept upper layer
	pty     *os.File
	// console is ctop's end of the socket the init sends the terminal
	// over (-t), until attachConsole.
	console *os.File
	null    *os.File       // /dev/null for unset streams
	closers []io.Closer    // our copies of the child's stdio ends
	relays  sync.WaitGroup // output relays, done at EOF
	// seccomp is the filter compiled from the spec's profile (nil: none).
	seccomp *filter
	// monitor is set for a detached sandbox: Wait waits for it.
	monitor *exec.Cmd
	waited  bool
	// stateDone reports the write of the started sandbox's state.
	stateDone chan error
	// finalPrepared: prepareFinal has run.
	finalPrepared bool
	// release ends the lock of the thread that cloned the init (see
	// onOwnThread) once the init has been reaped.
	release     chan struct{}
	releaseOnce sync.Once
	result      Result
	err         error
	// ended: Wait reaped the command, so a detached sandbox's teardown
	// leaves its exit record (see State.finish); a failed start leaves none.
	ended bool
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
	// (nil for a detached sandbox): OOM kills, refused forks and
	// throttling, with Spec.Stats also CPU time, peak memory and IO, and
	// the limits it ran into (see cgroup.Manager.ReadFinal).
	Group *cgroup.Group
	// Limits are the limits the sandbox ran under.
	Limits cgroup.Resources
}

// Spec returns the (normalized) spec the sandbox was started with.
func (s *Sandbox) Spec() Spec { return s.spec }

// Cgroup is the sandbox's cgroup path.
func (s *Sandbox) Cgroup() string {
	if s.cgroupPath != "" {
		return s.cgroupPath
	}
	return s.spec.CgroupPath()
}

// Start starts a sandbox and returns once its command is executing. The
// caller must call Wait, which also removes the sandbox's cgroup and state.
// A failure is a *StartError carrying the exit code docker would give it;
// nothing is left behind.
func Start(spec Spec) (*Sandbox, error) {
	t0 := time.Now()
	if err := spec.normalize(); err != nil {
		return nil, startErr(ExitFailed, err)
	}
	if err := spec.Validate(); err != nil {
		return nil, startErr(ExitFailed, err)
	}
	if os.Geteuid() != 0 {
		if err := spec.checkUser(); err != nil {
			return nil, startErr(ExitFailed, err)
		}
	}
	// Compiled before anything is made, so that a profile ctop cannot
	// compile is refused first (a detached sandbox's monitor compiles it
	// again for itself).
	f, err := spec.Seccomp.compile(hostSeccompEnv(DefaultCapMask()))
	if err != nil {
		return nil, startErr(ExitFailed, fmt.Errorf("--security-opt seccomp=%s: %w", spec.Seccomp, err))
	}
	if spec.Detach {
		return startDetached(spec, t0)
	}
	sb := &Sandbox{Name: spec.Name, Started: t0, spec: spec, seccomp: f}
	if err := sb.start(); err != nil {
		sb.abort()
		return nil, startErr(ExitFailed, err)
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
		Remove: spec.Remove, StopSignal: int(spec.StopSignal), StopTimeout: spec.StopTimeout, Status: StatusRunning,
		Seccomp: spec.Seccomp, NewPrivileges: spec.NewPrivileges,
		CapAdd: spec.CapAdd, CapDrop: spec.CapDrop,
		Labels: spec.Labels,
	}
	if spec.systemd() {
		sb.state.CgroupManager, sb.state.Unit = ManagerSystemd, systemd.UnitName(spec.Name)
	}
	launching := canLaunch(spec)
	var n *nest
	if launching {
		// The namespaces, and the host's view in them, are made while
		// prepare and cgroup.Create run.
		spec.nestView = viewInNest(spec)
		sb.release = make(chan struct{})
		n = startNest(spec, sb.release)
		defer n.close()
	}
	res := spec.Resources
	var err error
	if res.Devices, err = spec.deviceRules(); err != nil {
		return err
	}
	if err := sb.prepare(res); err != nil {
		return err
	}
	if spec.logToState {
		if err := sb.state.ensureDir(); err != nil {
			return err
		}
		log, err := os.OpenFile(filepath.Join(sb.state.dir, logName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("sandbox log: %w", err)
		}
		defer log.Close()
		spec.Stdout, spec.Stderr = log, log
		sb.state.Log, sb.state.Detached = log.Name(), true
	}
	// Under systemd the group is made around the init once it is cloned
	// (startScope).
	var mgr *cgroup.Manager
	if !spec.systemd() {
		if mgr, err = cgroup.Create(sb.fs, spec.CgroupPath(), res); err != nil {
			return err
		}
		sb.mgr = mgr
	}
	if launching {
		if err := sb.launch(n); err != nil {
			return err
		}
		if err := sb.attachConsole(); err != nil {
			return err
		}
		return sb.started()
	}
	cfg := &initConfig{Spec: *spec, NoSetattr: spec.noSetattr}
	cfg.Cwd, _ = os.Getwd()
	cfg.setSeccomp(sb.seccomp)
	if spec.Overlay {
		if cfg.Overlay, err = sb.overlayDirs(); err != nil {
			return err
		}
	}
	if spec.Rootfs != "" {
		if cfg.Etc, err = sb.etcFiles(); err != nil {
			return err
		}
	}
	// The init runs in the sandbox's namespaces, where its command (from
	// a --rootfs: an image's) could name "#!/proc/self/exe" as its
	// interpreter and so run the init's binary: never ctop's own, but a
	// sealed copy (runc's answer to CVE-2019-5736), as for ctop exec.
	exe, err := sealedExe()
	if err != nil {
		return err
	}
	defer exe.Close()
	cfg.ExeFD = 4
	parentEnd, childEnd, err := socketpair()
	if err != nil {
		return err
	}
	defer parentEnd.Close()
	cmd := &exec.Cmd{
		// The child's fd 4, its second extra file (see ctop exec's).
		Path:       "/proc/self/fd/4",
		Args:       []string{"ctop-init", spec.Name},
		Env:        []string{envRole + "=" + roleInit, envSyncFD + "=3", envNoTermQuery},
		ExtraFiles: []*os.File{childEnd, exe},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: cloneFlags(spec.Namespaces),
			// The sandbox dies with its parent; init re-arms this after
			// changing credentials.
			Pdeathsig: syscall.SIGKILL,
		},
	}
	var helperMaps [2][]IDMap
	if spec.Has(NSUser) {
		uids, gids, helper, err := spec.idMaps()
		if err != nil {
			childEnd.Close()
			return err
		}
		if helper {
			// newuidmap writes them once the init runs (awaitMaps).
			helperMaps = [2][]IDMap{uids, gids}
			// newgidmap allows setgroups(2) unless the map is the
			// caller's own gid alone (CVE-2018-7169).
			cfg.SetGroups = len(gids) > 1 || gids[0].Host != uint32(os.Getegid())
			cmd.Env = append(cmd.Env, envAwaitMaps+"=1")
		} else {
			a := cmd.SysProcAttr
			a.UidMappings, a.GidMappings = sysIDMaps(uids), sysIDMaps(gids)
			// setgroups is denied: needed by a caller that is not root to
			// map gids at all, and kept for root (no group ids change inside
			// but by setgid).
			a.GidMappingsEnableSetgroups = false
			// The caller's ids need not be mapped (root's are not, remapped):
			// the child becomes the namespace's root before its execve, which
			// would otherwise take its capabilities (user_namespaces(7)).
			a.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
		}
	}
	if err := sb.stdio(cmd); err != nil {
		childEnd.Close()
		return err
	}
	// Start in the cgroup (clone3 CLONE_INTO_CGROUP) where there is a v2
	// group; on v1 (and for the v1 hierarchies of a hybrid host) the parent
	// moves the child before telling it to go on.
	var fd int
	var useFD bool
	if mgr != nil {
		if fd, useFD, err = mgr.FD(); err != nil {
			childEnd.Close()
			return err
		}
	}
	if useFD {
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
		defer unix.Close(fd)
	}
	sb.release = make(chan struct{})
	err = onOwnThread(cmd.Start, sb.release)
	if err != nil && useFD && noCloneInto(err) {
		cmd.SysProcAttr.UseCgroupFD, useFD = false, false
		err = onOwnThread(cmd.Start, sb.release)
	}
	childEnd.Close()
	for _, c := range sb.closers {
		c.Close()
	}
	sb.closers = nil
	if err != nil {
		return fmt.Errorf("start sandbox init: %w", err)
	}
	sb.proc = cmd.Process
	sb.Pid = cmd.Process.Pid
	if spec.systemd() {
		if err := sb.startScope(res); err != nil {
			return err
		}
	} else if !useFD {
		if err := mgr.AddProc(sb.Pid); err != nil {
			return err
		}
	} else if sb.fs.Mode() != cgroup.ModeUnified {
		if err := mgr.AddProcV1(sb.Pid); err != nil {
			return err
		}
	}
	if helperMaps[0] != nil {
		if err := writeMapsByHelper(sb.Pid, helperMaps[0], helperMaps[1]); err != nil {
			return err
		}
		if err := send(parentEnd, message{Type: msgMapped}); err != nil {
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
		sb.proc = nil
		if m.Type == msgError {
			return &StartError{Code: m.Code, Err: errors.New(m.Error)}
		}
		return fmt.Errorf("sandbox init: unexpected message %q", m.Type)
	} else if !errors.Is(err, io.EOF) {
		return fmt.Errorf("sandbox init: %w", err)
	}
	if err := sb.tightenPids(); err != nil {
		return err
	}
	if sb.sd != nil && spec.logToState {
		// A detached sandbox's monitor holds no connection to systemd
		// for the sandbox's life (systemd limits them): teardown
		// connects again.
		sb.sd.Close()
		sb.sd = nil
	}
	if err := sb.attachConsole(); err != nil {
		return err
	}
	return sb.started()
}

// prepare records the sandbox's state and makes its parent group, in the
// hierarchies the sandbox's group with limits res needs.
//
// The parent is removed with the last sandbox only if it is ctop's own:
// named ctop, or made here. A parent the user chose and made stays.
// ctop's own parent is made while the state is written (which costs a
// journaled file creation where /run is on disk): a ctop killed meanwhile
// leaves it empty, and Reap removes an empty parent named ctop. Any other
// parent is made only once the state records that it was made here.
func (sb *Sandbox) prepare(res cgroup.Resources) error {
	spec := &sb.spec
	if spec.systemd() {
		// systemd makes the slice with the first scope in it; the
		// connection is made while the state is written.
		connected := make(chan error, 1)
		go func() {
			_, err := sb.systemdConn()
			connected <- err
		}()
		err := sb.openFS()
		if rerr := reserve(spec.StateDir, sb.state); rerr != nil {
			err = rerr
		}
		if cerr := <-connected; err == nil {
			err = cerr
		}
		return err
	}
	if ownParent(spec.CgroupParent) {
		sb.removeParent, sb.state.MadeParent = true, true
		recorded := make(chan error, 1)
		go func() { recorded <- reserve(spec.StateDir, sb.state) }()
		err := sb.openFS()
		if err == nil {
			err = cgroup.CreateParents(sb.fs, spec.CgroupPath(), res)
		}
		if rerr := <-recorded; rerr != nil {
			return rerr
		}
		return err
	}
	if err := sb.openFS(); err != nil {
		return err
	}
	if _, err := cgroup.Load(sb.fs, spec.CgroupParent); errors.Is(err, cgroup.ErrNotFound) {
		sb.removeParent, sb.state.MadeParent = true, true
	}
	if err := reserve(spec.StateDir, sb.state); err != nil {
		return err
	}
	return cgroup.CreateParents(sb.fs, spec.CgroupPath(), res)
}

func (sb *Sandbox) openFS() error {
	if sb.spec.Cgroups != nil {
		sb.fs = sb.spec.Cgroups
		return nil
	}
	f, err := cgroup.Open("/")
	if err != nil {
		return err
	}
	sb.fs = f
	return nil
}

// noCloneInto reports whether a clone3 with CLONE_INTO_CGROUP failed for
// want of it (a kernel before 5.7), so that the child is to be moved into
// its cgroup another way.
func noCloneInto(err error) bool {
	return errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.E2BIG) || errors.Is(err, unix.EINVAL)
}

// started records the running sandbox's init in its state.
//
// A detached sandbox's caller may act on its state as soon as Start
// returns, so that state is complete first. Otherwise the write overlaps
// the command's run, and Wait waits for it: until then ls shows the
// sandbox as starting, as it does while Start runs.
func (sb *Sandbox) started() error {
	write := func() error {
		sb.state.Pid = sb.Pid
		sb.state.PidStart, _ = procStart(sb.Pid)
		return sb.state.update()
	}
	if sb.spec.logToState {
		return write()
	}
	sb.stateDone = make(chan error, 1)
	go func() { sb.stateDone <- write() }()
	return nil
}

// prepareFinal opens the files of the sandbox's group that Wait reads
// last (cgroup.Manager.PrepareFinal), once.
func (sb *Sandbox) prepareFinal() {
	if sb.mgr != nil && !sb.finalPrepared {
		sb.mgr.PrepareFinal(sb.spec.Stats)
		sb.finalPrepared = true
	}
}

// stateWritten waits for started's write of the state.
func (sb *Sandbox) stateWritten() error {
	if sb.stateDone == nil {
		return nil
	}
	err := <-sb.stateDone
	sb.stateDone = nil
	return err
}

// launch starts the sandbox by a launch (see launch_linux.go) from the
// nest n, once n has made the namespaces.
func (sb *Sandbox) launch(n *nest) error {
	spec := &sb.spec
	cwd, _ := os.Getwd()
	// The streams are set up as for the re-executed init, then copied to
	// fds above 2 so that the child's dup3 onto 0, 1 and 2 cannot
	// overwrite one it has yet to copy.
	cmd := &exec.Cmd{SysProcAttr: &syscall.SysProcAttr{}}
	if err := sb.stdio(cmd); err != nil {
		return err
	}
	var stdio [3]int
	for i, f := range []any{cmd.Stdin, cmd.Stdout, cmd.Stderr} {
		fd, err := unix.FcntlInt(f.(*os.File).Fd(), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			return fmt.Errorf("sandbox stdio: %w", err)
		}
		defer unix.Close(fd)
		stdio[i] = fd
	}
	defer func() {
		for _, c := range sb.closers {
			c.Close()
		}
		sb.closers = nil
	}()
	var joins []string
	for _, d := range sb.mgr.V1Dirs() {
		joins = append(joins, filepath.Join(d, "tasks"))
	}
	fd, useFD, err := sb.mgr.FD()
	if err != nil {
		return err
	}
	if useFD {
		defer unix.Close(fd)
	}
	e := planEnv{via: viaLaunch, cwd: cwd, joins: joins, stdio: stdio, seccomp: sb.seccomp}
	if spec.nestView {
		fds, closeJoins, err := openJoins(joins)
		if err != nil {
			return err
		}
		defer closeJoins()
		e.joinFDs = fds
	}
	if spec.Init {
		exe, err := sealedExe()
		if err != nil {
			return err
		}
		defer exe.Close()
		e.initExe = int(exe.Fd())
	}
	l := buildPlan(spec, e).launch()
	if useFD {
		l.cgroupFD = fd
	}
	// The files Wait reads last are opened while the child sets up.
	pid, err := n.start(l, sb.prepareFinal)
	var serr *os.SyscallError
	if err != nil && useFD && errors.As(err, &serr) && serr.Syscall == "clone3" && noCloneInto(err) {
		// The child writes "0" to cgroup.procs instead: it is one thread,
		// so moving it moves the process.
		dir, _ := sb.mgr.Dir("")
		e.joins = append(joins, filepath.Join(dir, "cgroup.procs"))
		if spec.nestView {
			fds, closeJoins, err := openJoins(e.joins[len(joins):])
			if err != nil {
				return err
			}
			defer closeJoins()
			e.joinFDs = append(e.joinFDs[:len(joins):len(joins)], fds...)
		}
		pid, err = n.start(buildPlan(spec, e).launch(), nil)
	}
	if err != nil {
		return startErr(ExitFailed, err)
	}
	sb.Pid = pid
	if sb.proc, err = os.FindProcess(pid); err != nil {
		return fmt.Errorf("sandbox init %d: %w", pid, err)
	}
	return nil
}

// onOwnThread runs start (which starts the sandbox's init) on an OS thread
// locked to one goroutine until release is closed. The kernel sends the
// parent-death signal when the thread that cloned the child exits
// (prctl(2), go.dev/issue/27505),
// and Go ends a thread when a goroutine locked to it returns: had the
// cloning thread been shared, any goroutine that locks and ends on it
// (ctop exec does) would kill the sandbox.
func onOwnThread(start func() error, release <-chan struct{}) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		err := start()
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
			f |= cloneFlag(n)
		}
	}
	return f
}

// overlayDirs prepares the upper, work and merged directories of an
// overlay root. Without --keep-upper all three live in the state directory
// and go with it; with it, the work directory is made beside the kept upper
// layer, since overlayfs needs both on one filesystem.
func (sb *Sandbox) overlayDirs() (*overlayDirs, error) {
	if err := sb.state.ensureDir(); err != nil {
		return nil, err
	}
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
		// The init opens the terminal in the sandbox (stepConsole) and
		// sends its master back over the socket it has as its streams
		// until then; attachConsole receives it.
		parent, child, err := consolePair()
		if err != nil {
			return err
		}
		sb.console = parent
		cmd.Stdin, cmd.Stdout, cmd.Stderr = child, child, child
		cmd.SysProcAttr.Setsid = true
		sb.closers = append(sb.closers, child)
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

// attachConsole receives the master of the sandbox's terminal, once the
// init has executed the command, and relays it to the spec's streams.
func (sb *Sandbox) attachConsole() error {
	if sb.console == nil {
		return nil
	}
	ptm, err := recvConsole(sb.console)
	sb.console.Close()
	sb.console = nil
	if err != nil {
		return err
	}
	sb.pty = ptm
	s := &sb.spec
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

func (sb *Sandbox) input(r io.Reader) (*os.File, error) {
	if f, ok := r.(*os.File); ok {
		return f, nil
	}
	if r == nil {
		return sb.devNull()
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
		return sb.devNull()
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

// devNull is /dev/null, opened once for every stream the spec leaves unset.
func (sb *Sandbox) devNull() (*os.File, error) {
	if sb.null == nil {
		f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if err != nil {
			return nil, err
		}
		sb.null = f
		sb.closers = append(sb.closers, f)
	}
	return sb.null, nil
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
// cgroup and the state (a detached sandbox's monitor records the exit
// instead, see State.finish). It may be called more than once.
func (sb *Sandbox) Wait() (Result, error) {
	if sb.waited {
		return sb.result, sb.err
	}
	sb.waited = true
	if sb.monitor != nil {
		sb.result, sb.err = sb.waitDetached()
		return sb.result, sb.err
	}
	// While the command runs; the state's write too.
	sb.prepareFinal()
	st, err := sb.proc.Wait()
	r := Result{Wall: time.Since(sb.Started), Limits: sb.spec.Resources}
	// The group's last reading first: under systemd its group goes as
	// soon as systemd sees it empty.
	var g *cgroup.Group
	var gerr error
	if sb.mgr != nil {
		g, gerr = sb.mgr.ReadFinal(sb.spec.Stats)
	}
	werr := sb.stateWritten()
	sb.releaseThread()
	if err != nil {
		sb.err = fmt.Errorf("wait for sandbox %s: %w", sb.Name, err)
	} else if ws := st.Sys().(syscall.WaitStatus); ws.Signaled() {
		r.Signal = ws.Signal()
		r.ExitCode = 128 + int(r.Signal)
	} else {
		r.ExitCode = ws.ExitStatus()
	}
	if sb.mgr != nil {
		err := gerr
		if sb.watch != nil {
			// The group may be gone already: the watch's reading, taken
			// when it last changed, stands in.
			if last := sb.watch.Stop(); !g.EventsKnown() && last != nil {
				g, err = last, nil
			}
			sb.watch = nil
		}
		if g != nil {
			r.Group = g
		} else if sb.err == nil && !sb.spec.systemd() {
			// Under systemd, a group gone before any reading leaves
			// nothing to report; nothing went wrong.
			sb.err = err
		}
	}
	if werr != nil && sb.err == nil {
		sb.err = werr
	}
	sb.result = r
	sb.ended = true
	if err := sb.teardown(); err != nil && sb.err == nil {
		sb.err = err
	}
	return sb.result, sb.err
}

// teardown removes everything the sandbox had: processes, cgroup, state,
// overlay work directory.
func (sb *Sandbox) teardown() error {
	var errs []error
	if sb.watch != nil {
		sb.watch.Stop()
		sb.watch = nil
	}
	if sb.mgr != nil {
		// Opened for a last reading that a failed start never takes.
		sb.mgr.CloseFinal()
	}
	if sb.spec.systemd() {
		// Only a scope this start asked for: before that, or when the
		// name was taken, the unit may be another sandbox's.
		if sb.scopeAsked {
			if err := sb.stopScope(); err != nil {
				errs = append(errs, err)
			}
		} else if sb.sd != nil {
			sb.sd.Close()
			sb.sd = nil
		}
	} else if sb.mgr != nil {
		// The group is usually empty by now: with its own pid namespace,
		// every process of the sandbox died with its init. Removing it
		// straight away spares listing every hierarchy's processes.
		if removed, err := sb.mgr.DeleteIfEmpty(); err != nil {
			errs = append(errs, err)
		} else if !removed {
			if err := sb.mgr.Kill(); err != nil {
				errs = append(errs, err)
			} else if err := sb.mgr.Delete(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// Also after a start that failed before the sandbox's own group was
	// made: the parent may have been made for it.
	if sb.removeParent && sb.fs != nil {
		if _, err := cgroup.RemoveIfEmpty(sb.fs, sb.spec.CgroupParent); err != nil {
			errs = append(errs, err)
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
	if sb.state != nil && sb.state.path != "" {
		if sb.state.file != nil {
			sb.state.file.Close()
		}
		// The state root stays, as /run/runc does: removing it when empty
		// and making it again costs two more journaled operations per
		// sandbox where /run is on disk.
		if sb.ended && sb.spec.logToState {
			// A detached sandbox's exit record stays until ctop rm, or
			// with --rm until its waiters have read it.
			if err := sb.state.finish(sb.result); err != nil {
				errs = append(errs, err)
			} else if sb.spec.Remove {
				sb.state.awaitWaiters()
				if err := sb.state.remove(true); err != nil {
					errs = append(errs, err)
				}
			}
		} else if err := sb.state.remove(sb.state.madeDir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// abort undoes a failed start.
func (sb *Sandbox) abort() {
	if sb.console != nil {
		sb.console.Close()
	}
	if sb.proc != nil {
		_ = sb.proc.Kill()
		_, _ = sb.proc.Wait()
	}
	sb.releaseThread()
	_ = sb.stateWritten()
	_ = sb.teardown()
}
