package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// Init gives the sandbox its chance to take over a re-executed child of
// ctop: the sandbox's init, the monitor of a detached sandbox, or the child
// of ctop exec. ctop reaches it from the initializer of package reexec,
// before the rest of the binary is initialized; this package's TestMain
// calls it first thing. In an ordinary process it returns false at once; in
// a child it never returns.
func Init() bool {
	role := os.Getenv(envRole)
	if role == "" {
		return false
	}
	// Namespaces, credentials, capabilities and no_new_privs set below are
	// per thread until execve: everything happens on this one thread.
	runtime.LockOSThread()
	os.Unsetenv(envRole)
	if role == rolePID1 {
		// No sync pipe: the sandbox runs already; see pid1_linux.go.
		os.Exit(pid1Main(os.Args[1:]))
	}
	sync, err := syncFile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctop:", err)
		os.Exit(ExitFailed)
	}
	if os.Getenv(envAwaitMaps) != "" {
		// Returns only on failure.
		err := awaitMaps(sync)
		_ = send(sync, message{Type: msgError, Code: ExitFailed, Error: err.Error()})
		os.Exit(ExitFailed)
	}
	os.Unsetenv(envSyncFD)
	var code int
	switch role {
	case roleInit, roleExec:
		// Again: an init that awaited its maps gained capabilities at
		// its second execve, which cleared the signal (prctl(2)). Should
		// ctop have died meanwhile, the config never comes.
		_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0)
		code, err = childMain(role, sync)
	case roleMonitor:
		code = monitorMain(sync)
		os.Exit(code)
	case roleUserExec:
		os.Exit(userExecMain(sync))
	default:
		code, err = ExitFailed, fmt.Errorf("unknown role %q", role)
	}
	// childMain returns only on failure.
	if err == nil {
		err = errors.New("sandbox init returned without starting the command")
	}
	if serr := send(sync, message{Type: msgError, Code: code, Error: err.Error()}); serr != nil {
		fmt.Fprintln(os.Stderr, "ctop:", err)
	}
	os.Exit(code)
	return true
}

// awaitMaps is the first step of an init whose user namespace's maps
// newuidmap and newgidmap write (see sync.go). Cloned into the namespace
// while its ids were unmapped there, the init lost every capability at its
// execve (user_namespaces(7): capabilities at execve follow the uid, and
// an unmapped one is not 0). Once the parent says the maps are written it
// executes its sealed copy of ctop again, at fd 4, now as the namespace's
// root with every capability in it, and goes on as any other init. It
// reads the message a byte at a time, so that nothing of the config that
// follows is consumed before the execve.
func awaitMaps(sync *os.File) error {
	var m message
	if err := json.NewDecoder(byteReader{sync}).Decode(&m); err != nil || m.Type != msgMapped {
		return fmt.Errorf("wait for the user namespace's maps: got %q, %v", m.Type, err)
	}
	os.Unsetenv(envAwaitMaps)
	// The sealed copy ctop started this process from (sandbox.start).
	env := append(os.Environ(), envRole+"="+roleInit)
	err := syscall.Exec("/proc/self/fd/4", os.Args, env)
	return fmt.Errorf("execute ctop again in the mapped user namespace: %w", err)
}

// byteReader reads one byte at a time.
type byteReader struct{ r io.Reader }

func (b byteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return b.r.Read(p)
}

// childMain reads the config and runs the sandbox's plan; it returns only
// on failure, with the exit code the failure maps to.
func childMain(role string, sync *os.File) (int, error) {
	var m message
	if err := json.NewDecoder(sync).Decode(&m); err != nil || m.Type != msgConfig || m.Config == nil {
		return ExitFailed, fmt.Errorf("read sandbox config: %v", err)
	}
	cfg := m.Config
	e := planEnv{via: viaInit, cwd: cfg.Cwd, overlay: cfg.Overlay, etc: cfg.Etc}
	if role == roleExec {
		e = planEnv{via: viaExec, cwd: cfg.Cwd, mountNSFD: cfg.MountNSFD, cgroupNSFD: cfg.CgroupNSFD, parentFD: cfg.ParentFD}
	}
	e.seccomp = filterOf(cfg.SeccompProg, cfg.SeccompFlags)
	cfg.Spec.noSetattr = cfg.NoSetattr
	cfg.Spec.setGroups = cfg.SetGroups
	if role == roleInit && cfg.Spec.Init {
		// Copied before the steps: after pivot_root the binary is out of
		// reach. Kept open (from the collector's finalizer too) until the
		// execve.
		exe, err := sealedExe()
		if err != nil {
			return ExitFailed, err
		}
		defer exe.Close()
		e.initExe = int(exe.Fd())
	}
	p := buildPlan(&cfg.Spec, e)
	if err := runSteps(p.steps); err != nil {
		return ExitFailed, err
	}
	for _, fd := range []int{cfg.MountNSFD, cfg.CgroupNSFD, cfg.ParentFD, cfg.ExeFD} {
		if fd > 0 {
			unix.Close(fd)
		}
	}
	unix.CloseOnExec(int(sync.Fd()))
	err := p.exec()
	var se *StartError
	if errors.As(err, &se) {
		return se.Code, se.Err
	}
	return ExitCannotExec, err
}

// runSteps makes the steps of a plan in the re-executed init, by the
// system calls a launch's child makes (launch.add, launch.run). In a
// sandbox with a root of its own (stepRoot) the sandbox's paths resolve in
// that root until pivot_root; symlinks in it are resolved as if it were
// "/", so a link such as rootfs/evil -> /etc cannot make ctop mount on the
// host, and the mount points missing there are made.
func runSteps(steps []step) error {
	root := ""
	freshProc := true
	for i := range steps {
		st := steps[i]
		if st.fresh && !freshProc {
			continue
		}
		if st.inRoot && root != "" {
			t, err := securejoin.SecureJoin(root, st.path)
			if err != nil {
				return fmt.Errorf("%s: resolve %s in %s: %w", st.what, st.path, root, err)
			}
			st.path = t
			if err := makeMountPoint(&st); err != nil {
				return err
			}
		}
		var err error
		switch st.kind {
		case stepSys:
			err = setupSys(st.path, st.n != 0)
		case stepPivot:
			err = pivot(root)
		default:
			l := &launch{}
			l.add(&st)
			_, errno := l.run()
			// The ops hold the addresses of what l keeps (the seccomp
			// filter's fprog) as integers.
			runtime.KeepAlive(l)
			if errno == unix.EPERM && st.kind == stepProc && root != "" {
				// A user namespace without its own pid namespace may
				// not mount proc: the host's is bound, and left as it
				// is (the masks are the fresh one's).
				freshProc = false
				err = mount("/proc", st.path, "", unix.MS_BIND|unix.MS_REC, "")
				break
			}
			if errno != 0 {
				err = fmt.Errorf("%s: %w", st.what, errno)
			}
		}
		if err != nil {
			return err
		}
		if st.kind == stepRoot {
			root = st.path
		}
	}
	return nil
}

// makeMountPoint makes what a step mounts on, where it is missing in the
// sandbox's root.
func makeMountPoint(st *step) error {
	var err error
	switch st.mk {
	case mkDir:
		err = os.MkdirAll(st.path, st.mode)
	case mkSource:
		if _, lerr := os.Lstat(st.path); lerr == nil {
			return nil
		}
		var fi os.FileInfo
		if fi, err = os.Stat(st.src); err != nil {
			return fmt.Errorf("%s: %w", st.what, err)
		}
		if fi.IsDir() {
			err = os.MkdirAll(st.path, 0o755)
		} else if err = os.MkdirAll(filepath.Dir(st.path), 0o755); err == nil {
			var f *os.File
			if f, err = os.OpenFile(st.path, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
				f.Close()
			}
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", st.what, err)
	}
	return nil
}

// exec executes the command, trying the plan's candidates in order as a
// launch's child does (launch.child); it returns only on failure, mapped
// as a launch's by execFailure. syscall.Exec, not a raw execve, so that
// the runtime restores the open files limit it raised and no thread is
// being made meanwhile.
func (p *plan) exec() error {
	denied, last := -1, syscall.Errno(unix.ENOENT)
	for i, path := range p.paths {
		err := syscall.Exec(path, p.argv, p.env)
		e, ok := err.(syscall.Errno)
		if !ok {
			return fmt.Errorf("exec %s: %w", path, err)
		}
		switch e {
		case unix.ENOENT, unix.ENOTDIR:
		case unix.EACCES:
			if denied < 0 {
				denied = i
			}
		default:
			return execFailure(p.argv[0], p.paths, i, e)
		}
		last = e
	}
	if denied >= 0 {
		return execFailure(p.argv[0], p.paths, denied, unix.EACCES)
	}
	return execFailure(p.argv[0], p.paths, -1, last)
}
