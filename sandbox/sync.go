package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ctop-dev/ctop/cgroup"
)

// A sandbox that a launch cannot start (see doc.go) is started by
// re-executing ctop as its init. The parent (ctop run, or the monitor of a
// detached sandbox) and the re-executed child follow one small protocol over a
// socketpair passed to the child in ExtraFiles; the child learns its fd
// from the environment variable envSyncFD and its role from envRole.
// Messages are JSON objects, one after another.
//
//	parent                                   child (/proc/self/exe, role init)
//	------                                   -----------------------------------
//	create cgroup, state, overlay dirs
//	socketpair; clone(CLONE_NEW*,            starts in its new namespaces
//	  CLONE_INTO_CGROUP on v2)                (and, on v2, in its cgroup);
//	                                          locks its OS thread; blocks reading
//	v1/hybrid: write pid to cgroup.procs
//	[rootless, subordinate ids:]
//	newuidmap PID 0 UID 1 ...                 (cloned into its user namespace
//	newgidmap PID 0 GID 1 ...                  with no maps, so it lost its
//	                                           capabilities at execve)
//	send msgMapped ------------------------> read it; execve its sealed copy
//	                                          (fd 4) again, now root of its
//	                                          user namespace with every
//	                                          capability in it
//	send msgConfig ------------------------> read config
//	                                          unshare cgroup ns (now that it is
//	                                          placed), mounts, pivot_root,
//	                                          hostname, lo up, look up command,
//	                                          drop capabilities, set user,
//	                                          no_new_privs, pdeathsig again,
//	                                          the seccomp filter the parent
//	                                          compiled (in the config)
//	                                          on failure: <---- msgError{code}, exit
//	                                          mark sync fd close-on-exec; execve
//	read until EOF <------------------------ (execve closed the fd: running)
//	record pid in state, return
//
// A user namespace whose maps only the caller's own ids make (root's
// sandbox; a caller who is not root without subordinate ids or without
// newuidmap) is mapped by os/exec between clone and execve instead, and
// the child sets uid and gid 0 before its execve: no msgMapped. Where
// newuidmap and newgidmap write the maps, the parent's failure to run
// them ends the child (it is killed, as for any failed start), and the
// child's failure to re-execute itself is a msgError.
//
// With -t the child's fds 0, 1 and 2 are, until it has a terminal, one end
// of a second socketpair (consolePair): after the mounts it opens
// /dev/ptmx in the sandbox and sends the master over it (SCM_RIGHTS, as
// runc's console socket); the parent receives it once the command runs.
//
// EOF without an error message means the command is running. An execve
// failure is reported as msgError (ExitCannotExec, ExitNotFound).
//
// For a detached sandbox, the caller first starts a monitor (role monitor)
// the same way, without new namespaces: it sends msgConfig to the monitor,
// which starts the sandbox as above and answers msgStarted{pid} or msgError,
// then waits for the sandbox and cleans up after it.
//
// ctop exec starts a child (role exec) after entering the sandbox's
// namespaces; the child gets msgConfig and does only the last steps: look up
// the command, drop capabilities, set the user, install the sandbox's
// seccomp filter and execve. Its binary is a sealed memfd copy of ctop's
// (sealedExe). Into a sandbox with a user namespace, ctop exec starts no
// such child: a launch's child joins it (execLaunch); a caller who is not
// root first enters that user namespace alone (userexec_linux.go).

const (
	envRole   = "_CTOP_SANDBOX_ROLE"
	envSyncFD = "_CTOP_SANDBOX_SYNC_FD"
	// envAwaitMaps tells an init to wait for msgMapped (awaitMaps).
	envAwaitMaps = "_CTOP_SANDBOX_AWAIT_MAPS"

	roleInit    = "init"
	roleMonitor = "monitor"
	roleExec    = "exec"
	// rolePID1 (pid1_linux.go) is --init's process, executed by the
	// sandbox's plan from a sealed copy: it has no sync pipe.
)

// NOTE: bubbletea's package init asks the terminal for its background
// colour (an OSC 11 and a DSR query written to the tty) in every process of
// this binary that gets that far. The re-executed roles take over earlier
// (package reexec), but the order of package initializers is the
// compiler's, not a promise: TERM=dumb makes termenv skip the query should
// it run first, so nothing is written to a sandbox's terminal and no reply
// lands in its stdin. The command's own environment is built from the Spec.
const envNoTermQuery = "TERM=dumb"

type msgType string

const (
	msgConfig  msgType = "config"
	msgError   msgType = "error"
	msgStarted msgType = "started"
	// msgMapped: newuidmap and newgidmap wrote the init's maps.
	msgMapped msgType = "mapped"
)

// message is one step of the sync protocol.
type message struct {
	Type   msgType     `json:"type"`
	Config *initConfig `json:"config,omitempty"`
	// Code is the exit code a failure maps to (ExitFailed, ExitCannotExec,
	// ExitNotFound).
	Code  int    `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
	// Pid, Name and Cgroup (the group's path, which systemd chose for a
	// scope) answer a monitor's caller.
	Pid    int    `json:"pid,omitempty"`
	Name   string `json:"name,omitempty"`
	Cgroup string `json:"cgroup,omitempty"`
}

// overlayDirs are the layers of an --overlay root.
type overlayDirs struct {
	Lower  string `json:"lower"`
	Upper  string `json:"upper"`
	Work   string `json:"work"`
	Merged string `json:"merged"`
}

// initConfig is what the child needs: the spec (without its streams and
// limits, which stay with the parent) and the paths the parent prepared.
type initConfig struct {
	Spec    Spec         `json:"spec"`
	Overlay *overlayDirs `json:"overlay,omitempty"`
	// Resources travel only to a monitor, which creates the cgroup.
	Resources *cgroup.Resources `json:"resources,omitempty"`
	// Etc is the directory of the generated /etc files of a sandbox with
	// a root of its own ("": none).
	Etc string `json:"etc,omitempty"`
	// NoSetattr carries Spec.noSetattr (a test's) to the init.
	NoSetattr bool `json:"no_setattr,omitempty"`
	// Cwd is the caller's directory, the default workdir without a rootfs.
	Cwd string `json:"cwd"`
	// MountNSFD is, for ctop exec's child, the fd of the sandbox's mount
	// namespace to join (0: none).
	MountNSFD int `json:"mount_ns_fd,omitempty"`
	// CgroupNSFD is, for ctop exec's child, the fd of the sandbox's cgroup
	// namespace to join once it is in the sandbox's cgroup (0: none).
	CgroupNSFD int `json:"cgroup_ns_fd,omitempty"`
	// SeccompProg is the seccomp filter the parent compiled, as struct
	// sock_filter in the machine's byte order, and SeccompFlags its
	// seccomp(2) flags; the child installs it as it is.
	SeccompProg  []byte  `json:"seccomp_prog,omitempty"`
	SeccompFlags uintptr `json:"seccomp_flags,omitempty"`
	// ParentFD is, for ctop exec's child, a pidfd of ctop exec, by which
	// it checks, after each setting of its parent-death signal, that the
	// parent is still alive to send it (0: none, a kernel before 5.3).
	ParentFD int `json:"parent_fd,omitempty"`
	// SetGroups: the user namespace's setgroups(2) is allowed (newgidmap
	// wrote its maps), so the init sets the supplementary groups instead
	// of keeping the caller's.
	SetGroups bool `json:"set_groups,omitempty"`
	// UserExec is, for ctop exec's process inside a user namespace
	// (roleUserExec), what to run (userexec_linux.go).
	UserExec *userExec `json:"user_exec,omitempty"`
	// ExeFD is, for ctop exec's child, the sealed copy of ctop's binary
	// it was executed from, which it closes (0: none).
	ExeFD int `json:"exe_fd,omitempty"`
}

// setSeccomp puts the compiled filter f in the config.
func (c *initConfig) setSeccomp(f *filter) {
	if f != nil {
		c.SeccompProg, c.SeccompFlags = f.bytes(), f.flags
	}
}

// send writes m as one JSON value with nothing after it. The reader's
// json.Decoder stops at the value's last byte, so a trailing newline (as
// json.Encoder writes) could be left unread when it arrives in a later
// segment; the reader then closing its end would reset the connection,
// and the sender would read ECONNRESET instead of EOF.
func send(w io.Writer, m message) error {
	b, err := json.Marshal(m)
	if err == nil {
		_, err = w.Write(b)
	}
	if err != nil {
		return fmt.Errorf("sandbox sync: send %s: %w", m.Type, err)
	}
	return nil
}

// StartError is a failure to start a sandbox; Code is the exit status
// docker gives the same failure: ExitFailed, ExitCannotExec or ExitNotFound.
type StartError struct {
	Code int
	Err  error
}

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

func startErr(code int, err error) error {
	var se *StartError
	if errors.As(err, &se) {
		return err
	}
	return &StartError{Code: code, Err: err}
}

// syncFile returns the child's end of the sync socket.
func syncFile() (*os.File, error) {
	var fd int
	if _, err := fmt.Sscan(os.Getenv(envSyncFD), &fd); err != nil || fd < 3 {
		return nil, fmt.Errorf("ctop sandbox child: bad %s %q", envSyncFD, os.Getenv(envSyncFD))
	}
	return os.NewFile(uintptr(fd), "ctop-sync"), nil
}

func jsonDecode(r io.Reader, m *message) error { return json.NewDecoder(r).Decode(m) }
