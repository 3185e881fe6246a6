package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

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
	sync, err := syncFile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctop:", err)
		os.Exit(125)
	}
	os.Unsetenv(envSyncFD)
	var code int
	switch role {
	case roleInit, roleExec:
		code, err = childMain(role, sync)
	case roleMonitor:
		code = monitorMain(sync)
		os.Exit(code)
	default:
		code, err = 125, fmt.Errorf("unknown role %q", role)
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

// childMain reads the config and sets the sandbox up; it returns only on
// failure, with the exit code the failure maps to.
func childMain(role string, sync *os.File) (int, error) {
	if role == roleExec {
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
			return 125, fmt.Errorf("set parent-death signal: %w", err)
		}
	}
	var m message
	if err := json.NewDecoder(sync).Decode(&m); err != nil || m.Type != msgConfig || m.Config == nil {
		return 125, fmt.Errorf("read sandbox config: %v", err)
	}
	cfg := m.Config
	if role == roleInit {
		if err := setupNamespaces(cfg); err != nil {
			return 125, err
		}
	}
	if role == roleExec && cfg.CgroupNSFD > 0 {
		if err := unix.Setns(cfg.CgroupNSFD, unix.CLONE_NEWCGROUP); err != nil {
			return 125, fmt.Errorf("enter cgroup namespace: %w", err)
		}
		unix.Close(cfg.CgroupNSFD)
	}
	if role == roleExec && cfg.MountNSFD > 0 {
		// A thread sharing its filesystem context (all Go threads do) may
		// not join a mount namespace; this one stops sharing it first.
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return 125, fmt.Errorf("unshare fs: %w", err)
		}
		if err := unix.Setns(cfg.MountNSFD, unix.CLONE_NEWNS); err != nil {
			return 125, fmt.Errorf("enter mount namespace: %w", err)
		}
		unix.Close(cfg.MountNSFD)
	}
	return finishAndExec(cfg, sync)
}

// setupNamespaces prepares the new namespaces: cgroup, mounts and root,
// hostname, loopback.
func setupNamespaces(cfg *initConfig) error {
	s := &cfg.Spec
	if s.Has(NSCgroup) {
		// Unshared only now that the parent has placed this process in its
		// cgroup, so the namespace's root is the sandbox's own group.
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("unshare cgroup namespace: %w", err)
		}
	}
	if s.Has(NSMount) {
		if err := setupMounts(cfg); err != nil {
			return err
		}
	}
	if s.Has(NSUTS) && s.Hostname != "" {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return fmt.Errorf("set hostname %q: %w", s.Hostname, err)
		}
	}
	if s.Has(NSNet) {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	return nil
}

// loopbackUp brings up lo in a new network namespace (SIOCSIFFLAGS, as
// ip link set lo up does, with no dependency on the ip binary).
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bring up lo: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up lo: get flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up lo: set flags: %w", err)
	}
	return nil
}

// finishAndExec does the last steps in the sandbox: workdir, command lookup,
// capabilities, user, no_new_privs, and execve. It returns only on failure.
func finishAndExec(cfg *initConfig, sync *os.File) (int, error) {
	s := &cfg.Spec
	dir := s.Workdir
	if dir == "" && s.Rootfs == "" {
		dir = cfg.Cwd
	}
	if dir != "" {
		if err := os.Chdir(dir); err != nil {
			return 125, fmt.Errorf("--workdir %s: %w", dir, err)
		}
	}
	env := s.environ()
	path, code, err := lookPath(s.Command[0], env)
	if err != nil {
		return code, err
	}
	if err := dropPrivileges(s); err != nil {
		return 125, err
	}
	// Ignored signals stay ignored across execve: the command gets the
	// default actions, as a launched one does.
	sigs := &launch{}
	sigs.resetSignals()
	if i, errno := sigs.run(); errno != 0 {
		return 125, fmt.Errorf("%s: %w", sigs.ops[i].what, errno)
	}
	unix.CloseOnExec(int(sync.Fd()))
	err = unix.Exec(path, s.Command, env)
	code = 126
	if errors.Is(err, unix.ENOENT) {
		code = 127
	}
	return code, fmt.Errorf("exec %s: %w", path, err)
}

// lookPath finds name in the PATH of env, as a shell would, inside the
// sandbox's root. It returns 127 when nothing is found and 126 when the
// file exists but cannot be executed.
func lookPath(name string, env []string) (string, int, error) {
	check := func(p string) (int, error) {
		st, err := os.Stat(p)
		if err != nil {
			return 127, err
		}
		if st.IsDir() {
			return 126, fmt.Errorf("%s is a directory", p)
		}
		if err := unix.Access(p, unix.X_OK); err != nil {
			return 126, fmt.Errorf("%s: permission denied", p)
		}
		return 0, nil
	}
	if strings.Contains(name, "/") {
		if code, err := check(name); err != nil {
			if code == 127 {
				return "", 127, fmt.Errorf("%s: no such file or directory", name)
			}
			return "", code, err
		}
		return name, 0, nil
	}
	pathEnv := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			pathEnv = v
		}
	}
	denied := ""
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, name)
		code, err := check(p)
		if err == nil {
			return p, 0, nil
		}
		if code == 126 && denied == "" {
			denied = p
		}
	}
	if denied != "" {
		return "", 126, fmt.Errorf("%s: permission denied", denied)
	}
	return "", 127, fmt.Errorf("%s: executable file not found in $PATH", name)
}
