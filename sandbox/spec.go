package sandbox

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/nsinfo"
	"github.com/ctop-dev/ctop/systemd"
)

// Namespace is one kind of Linux namespace (namespaces(7)). It is
// nsinfo's Type, which owns the names; sandbox adds what creating one
// needs: its CLONE_NEW* flag (cloneFlag).
type Namespace = nsinfo.Type

// The eight namespaces, under the names sandbox code has always used.
const (
	NSPid    = nsinfo.PID
	NSMount  = nsinfo.Mnt
	NSUTS    = nsinfo.UTS
	NSIPC    = nsinfo.IPC
	NSNet    = nsinfo.Net
	NSCgroup = nsinfo.Cgroup
	NSUser   = nsinfo.User
	NSTime   = nsinfo.Time
)

// AllNamespaces are the namespaces ctop can create, in /proc/PID/ns order
// (by name).
func AllNamespaces() []Namespace {
	return slices.Sorted(slices.Values(nsinfo.Types()))
}

// DefaultNamespaces are what docker creates: pid, mnt, uts, ipc, net and cgroup.
func DefaultNamespaces() []Namespace {
	return []Namespace{NSPid, NSMount, NSUTS, NSIPC, NSNet, NSCgroup}
}

// cloneFlag is the CLONE_NEW* flag that creates a namespace of kind n
// (clone(2), unshare(2)) and that setns(2) checks; 0 for an unknown kind.
func cloneFlag(n Namespace) uintptr {
	switch n {
	case NSPid:
		return unix.CLONE_NEWPID
	case NSMount:
		return unix.CLONE_NEWNS
	case NSUTS:
		return unix.CLONE_NEWUTS
	case NSIPC:
		return unix.CLONE_NEWIPC
	case NSNet:
		return unix.CLONE_NEWNET
	case NSCgroup:
		return unix.CLONE_NEWCGROUP
	case NSUser:
		return unix.CLONE_NEWUSER
	case NSTime:
		return unix.CLONE_NEWTIME
	}
	return 0
}

// ParseNamespaces parses a comma-separated list such as "pid,mnt,net";
// "mount" is accepted for "mnt", and "none" alone for no namespace. An
// empty list and a namespace named twice are refused: neither says what
// was meant ("" is not "none" by accident of a shell variable left unset).
func ParseNamespaces(s string) ([]Namespace, error) {
	var out []Namespace
	switch s {
	case "none":
		return out, nil
	case "":
		return nil, fmt.Errorf("empty list: give namespaces from %s, or none to share all of the host's", namespaceNames())
	}
	for _, f := range strings.Split(s, ",") {
		name := strings.TrimSpace(f)
		if name == "mount" {
			name = string(NSMount)
		}
		n, err := nsinfo.ParseType(name)
		if err != nil {
			return nil, fmt.Errorf("unknown namespace %q: want a list of %s", f, namespaceNames())
		}
		if slices.Contains(out, n) {
			return nil, fmt.Errorf("namespace %q given twice", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// nsList writes namespaces as --ns takes them.
func nsList(ns []Namespace) string {
	if len(ns) == 0 {
		return "none"
	}
	var s []string
	for _, n := range ns {
		s = append(s, string(n))
	}
	return strings.Join(s, ",")
}

func namespaceNames() string {
	var s []string
	for _, n := range AllNamespaces() {
		s = append(s, string(n))
	}
	return strings.Join(s, ",")
}

// User is the numeric identity the command runs as, resolved from --user
// by ParseUser before the start.
type User struct {
	UID uint32 `json:"uid"`
	GID uint32 `json:"gid"`
	// Groups are the supplementary groups (setgroups(2)): those whose
	// /etc/group entry lists the user's name, as docker sets them.
	Groups []uint32 `json:"groups,omitempty"`
	// Home is the passwd entry's home directory, the command's HOME
	// unless --env gives one ("": "/", docker's for a uid without one).
	Home string `json:"home,omitempty"`
}

// Bind is a bind mount of a host path (-v SRC:DST[:ro]).
type Bind struct {
	Source   string `json:"source"`
	Dest     string `json:"dest"`
	ReadOnly bool   `json:"ro,omitempty"`
}

// Tmpfs is a tmpfs mount (--tmpfs DST[:size=64m]); Size 0 is the kernel's
// default (half of RAM), Mode 0 is 1777.
type Tmpfs struct {
	Dest string `json:"dest"`
	Size uint64 `json:"size,omitempty"`
	Mode uint32 `json:"mode,omitempty"`
	// Exec, Suid and Dev lift docker's defaults of noexec, nosuid and
	// nodev (--tmpfs /x:exec).
	Exec bool `json:"exec,omitempty"`
	Suid bool `json:"suid,omitempty"`
	Dev  bool `json:"dev,omitempty"`
}

// How a sandbox without --rootfs sees the host's files (--host-root).
const (
	// HostRootRO: the host's root and every mount under it read-only
	// (the default).
	HostRootRO = "ro"
	// HostRootRW: the host's files writable, as root in the sandbox is
	// root on them.
	HostRootRW = "rw"
)

// Network modes.
const (
	// NetworkNone is a new network namespace with only loopback, up.
	NetworkNone = "none"
	// NetworkHost shares the host's network namespace.
	NetworkHost = "host"
)

// Spec describes one sandbox. The zero value of most fields means "not
// asked for"; Namespaces are exactly the namespaces created (see
// DefaultNamespaces).
type Spec struct {
	// Name identifies the sandbox in ls, stop, exec and update and names its
	// cgroup; empty means generated.
	Name string `json:"name"`
	// Command is the program and its arguments; a name without '/' is
	// looked up in PATH inside the sandbox.
	Command []string `json:"command"`
	// Env is KEY=VALUE pairs added to a minimal environment (PATH, HOSTNAME,
	// HOME, TERM with a TTY); the host's environment is not passed on.
	Env []string `json:"env,omitempty"`
	// Workdir is the initial directory: "/" with a rootfs, else the
	// caller's when empty.
	Workdir    string      `json:"workdir,omitempty"`
	Namespaces []Namespace `json:"namespaces"`
	// Resources are the cgroup limits.
	Resources cgroup.Resources `json:"-"`
	// Hostname in a new uts namespace; default: the name.
	Hostname string `json:"hostname,omitempty"`
	// Network is NetworkNone (a new net namespace) or NetworkHost.
	Network string `json:"network,omitempty"`
	User    *User  `json:"user,omitempty"`
	// Seccomp is the seccomp filter: nil is docker's default profile.
	Seccomp *SeccompProfile `json:"seccomp,omitempty"`
	// NewPrivileges lets the command gain privileges by execve (set-user-ID
	// programs, file capabilities): --security-opt no-new-privileges=false.
	// Without it the sandbox's init sets no_new_privs, as ctop always has
	// (docker's default is the other way round).
	NewPrivileges bool `json:"new_privileges,omitempty"`
	// UIDMap and GIDMap map the user namespace's ids to the host's
	// (--uidmap, --gidmap); when empty, root's sandbox gets ctop's
	// subordinate range (idmap_linux.go). GIDMap defaults to UIDMap.
	UIDMap []IDMap `json:"uid_map,omitempty"`
	GIDMap []IDMap `json:"gid_map,omitempty"`
	// SubUIDFile and SubGIDFile hold ctop's subordinate ranges; default
	// DefaultSubUIDFile and DefaultSubGIDFile.
	SubUIDFile string `json:"subuid_file,omitempty"`
	SubGIDFile string `json:"subgid_file,omitempty"`
	// Rootfs, if set, becomes the root with pivot_root.
	Rootfs string `json:"rootfs,omitempty"`
	// Overlay puts a copy-on-write layer over Rootfs; KeepUpper, if set, is
	// where the upper layer is kept after exit.
	Overlay   bool   `json:"overlay,omitempty"`
	KeepUpper string `json:"keep_upper,omitempty"`
	// HostRoot is HostRootRO ("": the same) or HostRootRW: whether a
	// sandbox without a rootfs may write the host's files.
	HostRoot string `json:"host_root,omitempty"`
	// ReadOnly makes the root read-only: the rootfs (its top mount, as
	// docker's --read-only), or, without one, the host's (the default).
	ReadOnly bool    `json:"read_only,omitempty"`
	Binds    []Bind  `json:"binds,omitempty"`
	Tmpfs    []Tmpfs `json:"tmpfs,omitempty"`
	// Devices are host devices the sandbox may use (--device): each is
	// allowed in its devices cgroup and bound into its /dev.
	Devices []Device `json:"devices,omitempty"`
	// CapAdd and CapDrop change the default capabilities as docker's
	// --cap-add and --cap-drop do (see capMask): names with or without
	// CAP_, in any case, or ALL.
	CapAdd  []string `json:"cap_add,omitempty"`
	CapDrop []string `json:"cap_drop,omitempty"`
	// TTY gives the command a new pseudo-terminal, relayed to Stdin/Stdout.
	TTY bool `json:"tty,omitempty"`
	// Detach runs the sandbox under a monitor process that outlives the
	// caller; its output goes to a log file in the state directory.
	Detach bool `json:"detach,omitempty"`
	// Remove (--rm) removes a detached sandbox's record and log when it
	// exits; without it they stay until ctop rm, as docker's do.
	Remove bool `json:"remove,omitempty"`
	// StopSignal (--stop-signal) is what ctop stop sends the sandbox's
	// init first, 0 for SIGTERM; StopTimeout (--stop-timeout) how long it
	// then waits before killing the group, 0 for DefaultStopTimeout.
	StopSignal  syscall.Signal `json:"stop_signal,omitempty"`
	StopTimeout time.Duration  `json:"stop_timeout,omitempty"`
	// Stats has Wait's last reading of the group (Result.Group) include
	// CPU time, peak memory and IO bytes, as ctop run --stats prints them;
	// without it the reading has what Result.Report needs.
	Stats bool `json:"stats,omitempty"`
	// Init (--init) makes the sandbox's pid 1 a minimal init that starts
	// the command, passes signals on to it and reaps orphaned processes
	// (pid1_linux.go).
	Init bool `json:"init,omitempty"`
	// Labels (--label KEY=VALUE) are the caller's notes on the sandbox,
	// kept in its state for ls.
	Labels map[string]string `json:"labels,omitempty"`

	// Stdin, Stdout and Stderr are the command's standard streams; nil is
	// /dev/null. Files are passed on as they are, anything else is relayed.
	Stdin  io.Reader `json:"-"`
	Stdout io.Writer `json:"-"`
	Stderr io.Writer `json:"-"`

	// CgroupParent is the group under which the sandbox's group is made,
	// default DefaultCgroupParent. StateDir holds the state of running
	// sandboxes, default DefaultStateDir.
	CgroupParent string `json:"cgroup_parent,omitempty"`
	StateDir     string `json:"state_dir,omitempty"`
	// CgroupManager is who makes the sandbox's group: ManagerCgroupfs
	// (ctop writes the cgroup filesystem itself; "" is the same) or
	// ManagerSystemd (a transient scope of the caller's systemd manager,
	// in the slice CgroupParent names, default systemd.DefaultSlice).
	// ChooseManager picks one for a host.
	CgroupManager string `json:"cgroup_manager,omitempty"`
	// Cgroups is the cgroup layout the sandbox's group is made in; nil
	// reads the live host's. A caller that has read it already passes it
	// on, and one that starts many sandboxes keeps a cgroup.Host for it.
	Cgroups *cgroup.FS `json:"-"`

	// logToState sends the output to a log file in the state directory
	// (set by the monitor of a detached sandbox).
	logToState bool
	// viaInit starts the sandbox by the re-executed init even where a
	// launch could (see canLaunch): the tests run one plan on both paths.
	viaInit bool
	// noSetattr makes the host's files read-only as on a kernel without
	// mount_setattr: the tests run the fallback.
	noSetattr bool
	// nestView: a launch's nest makes the host's view (viewInNest), set
	// by Start before the nest starts, so that the nest and the plan
	// agree on it.
	nestView bool
	// setGroups: setgroups(2) is allowed in the sandbox's user namespace
	// (newgidmap mapped it), so the init sets the groups (initConfig).
	setGroups bool
}

// Defaults.
const (
	DefaultCgroupParent = "/ctop"
	DefaultStateDir     = "/run/ctop"
	defaultPath         = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// Has reports whether the spec creates namespace n.
func (s *Spec) Has(n Namespace) bool { return slices.Contains(s.Namespaces, n) }

// GenerateName returns a fresh random sandbox name.
func GenerateName() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "sb-" + hex.EncodeToString(b[:])
}

// normalize fills defaults and makes paths absolute: the step Start takes
// before Validate, which only checks. Its error is a working directory it
// cannot read for a relative --rootfs.
func (s *Spec) normalize() error {
	if s.Name == "" {
		s.Name = GenerateName()
	}
	if s.CgroupParent == "" {
		s.CgroupParent = DefaultCgroupParent
		if s.systemd() {
			s.CgroupParent = systemd.DefaultSlice
		}
	}
	if s.StateDir == "" {
		s.StateDir = DefaultStateDir
	}
	if s.SubUIDFile == "" {
		s.SubUIDFile = DefaultSubUIDFile
	}
	if s.SubGIDFile == "" {
		s.SubGIDFile = DefaultSubGIDFile
	}
	if len(s.GIDMap) == 0 {
		// As podman: --uidmap alone maps gids the same.
		s.GIDMap = s.UIDMap
	}
	if s.Network == "" {
		s.Network = NetworkHost
		if s.Has(NSNet) {
			s.Network = NetworkNone
		}
	}
	if s.Hostname == "" && s.Has(NSUTS) {
		s.Hostname = s.Name
	}
	if s.Overlay && s.KeepUpper != "" {
		s.KeepUpper = filepath.Clean(s.KeepUpper)
	}
	if s.Rootfs != "" && !filepath.IsAbs(s.Rootfs) {
		abs, err := filepath.Abs(s.Rootfs)
		if err != nil {
			return fmt.Errorf("--rootfs %s: %w", s.Rootfs, err)
		}
		s.Rootfs = abs
	}
	return nil
}

// Validate checks the spec without changing it and without touching the
// system beyond stat calls. Messages name the flag ctop run takes for the
// field. Start fills the defaults first (a name, the network, the
// hostname, an absolute rootfs); a spec validated without them may fail
// for want of a name.
func (s *Spec) Validate() error {
	if len(s.Command) == 0 || s.Command[0] == "" {
		return fmt.Errorf("no command: give one after the flags, like ctop run -- sh")
	}
	if err := ValidName(s.Name); err != nil {
		return fmt.Errorf("--name: %w", err)
	}
	for i, n := range s.Namespaces {
		if cloneFlag(n) == 0 {
			return fmt.Errorf("--ns: unknown namespace %q: want a list of %s", n, namespaceNames())
		}
		if slices.Contains(s.Namespaces[:i], n) {
			return fmt.Errorf("--ns: namespace %q given twice", n)
		}
	}
	if (len(s.UIDMap) > 0 || len(s.GIDMap) > 0) && !s.Has(NSUser) {
		return fmt.Errorf("--uidmap and --gidmap map a user namespace's ids: add user to --ns")
	}
	if len(s.UIDMap) > 0 != (len(s.GIDMap) > 0) {
		return fmt.Errorf("--gidmap needs --uidmap: give both, or --uidmap alone for the same map")
	}
	for _, m := range []struct {
		name string
		ms   []IDMap
	}{{"--uidmap", s.UIDMap}, {"--gidmap", s.GIDMap}} {
		for _, x := range m.ms {
			if x.Size == 0 || uint64(x.Container)+uint64(x.Size) > noID || uint64(x.Host)+uint64(x.Size) > noID {
				return fmt.Errorf("%s %d:%d:%d: want a size above 0 and ranges below %d", m.name, x.Container, x.Host, x.Size, uint32(noID))
			}
		}
		if err := checkIDMaps(m.ms); err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
	}
	if u := s.User; u != nil && (u.UID == noID || u.GID == noID) {
		return fmt.Errorf("--user %d:%d: %d is (uid_t)-1, which means \"unchanged\" to the kernel", u.UID, u.GID, uint32(noID))
	}
	switch s.Network {
	case NetworkNone:
		if !s.Has(NSNet) {
			return fmt.Errorf("--network none needs a net namespace: add net to --ns")
		}
	case NetworkHost:
		if s.Has(NSNet) {
			return fmt.Errorf("--network host shares the host's network: remove net from --ns")
		}
	default:
		return fmt.Errorf("--network %q: want none or host", s.Network)
	}
	if s.Hostname != "" && !s.Has(NSUTS) {
		return fmt.Errorf("--hostname %q needs a uts namespace: add uts to --ns", s.Hostname)
	}
	if s.Hostname != "" && (len(s.Hostname) > 64 || strings.ContainsAny(s.Hostname, "/ \t\n")) {
		return fmt.Errorf("--hostname %q: want at most 64 characters, no spaces or '/'", s.Hostname)
	}
	needsMnt := s.Rootfs != "" || len(s.Binds) > 0 || len(s.Tmpfs) > 0
	if needsMnt && !s.Has(NSMount) {
		return fmt.Errorf("--rootfs, -v and --tmpfs need a mount namespace: add mnt to --ns")
	}
	if s.Rootfs != "" {
		st, err := os.Stat(s.Rootfs)
		if err != nil {
			return fmt.Errorf("--rootfs %s: %w", s.Rootfs, err)
		}
		if !st.IsDir() {
			return fmt.Errorf("--rootfs %s: not a directory", s.Rootfs)
		}
	}
	switch s.HostRoot {
	case "", HostRootRO:
	case HostRootRW:
		if s.Rootfs != "" {
			return fmt.Errorf("--host-root rw: only without --rootfs, which hides the host's files")
		}
		if s.ReadOnly {
			return fmt.Errorf("--host-root rw contradicts --read-only")
		}
	default:
		return fmt.Errorf("--host-root %q: want ro or rw", s.HostRoot)
	}
	if s.Overlay && s.Rootfs == "" {
		return fmt.Errorf("--overlay needs --rootfs: it layers over the root filesystem")
	}
	if s.KeepUpper != "" && !s.Overlay {
		return fmt.Errorf("--keep-upper %s needs --overlay", s.KeepUpper)
	}
	if s.KeepUpper != "" {
		if ents, err := os.ReadDir(s.KeepUpper); err == nil && len(ents) > 0 {
			return fmt.Errorf("--keep-upper %s: directory is not empty: give a new or empty one", s.KeepUpper)
		}
	}
	for _, b := range s.Binds {
		if err := checkDest(filepath.Clean(b.Dest)); err != nil {
			return fmt.Errorf("-v %s:%s: %w", b.Source, b.Dest, err)
		}
		if s.Rootfs == "" {
			if _, err := os.Stat(b.Dest); err != nil {
				return fmt.Errorf("-v %s:%s: without --rootfs the target must exist on the host: %w", b.Source, b.Dest, err)
			}
		}
	}
	for _, t := range s.Tmpfs {
		if err := checkDest(filepath.Clean(t.Dest)); err != nil {
			return fmt.Errorf("--tmpfs %s: %w", t.Dest, err)
		}
		if s.Rootfs == "" {
			if st, err := os.Stat(t.Dest); err != nil || !st.IsDir() {
				return fmt.Errorf("--tmpfs %s: without --rootfs the target must be an existing directory", t.Dest)
			}
		}
	}
	for _, d := range s.Devices {
		if err := d.validate(s); err != nil {
			return err
		}
	}
	if _, err := s.capMask(); err != nil {
		return err
	}
	if s.Workdir != "" && !filepath.IsAbs(s.Workdir) {
		return fmt.Errorf("--workdir %q: want an absolute path", s.Workdir)
	}
	for _, e := range s.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return fmt.Errorf("--env %q: want KEY=VALUE", e)
		}
	}
	if s.StopSignal != 0 && (s.StopSignal < 1 || s.StopSignal > maxSignal) {
		return fmt.Errorf("--stop-signal %d: want a signal 1-%d", s.StopSignal, maxSignal)
	}
	if s.StopTimeout < 0 {
		return fmt.Errorf("--stop-timeout %s: want a duration of 0 or more", s.StopTimeout)
	}
	if err := s.Resources.Validate(); err != nil {
		return err
	}
	if !s.Resources.Empty() && !s.Has(NSMount) && (s.User == nil || s.User.UID == 0) {
		// Only in a mount namespace of its own can the cgroup filesystem
		// be made read-only for the sandbox (cgroupReadOnly); without one,
		// its root could raise its own limits or leave its group.
		return fmt.Errorf("--ns %s: limits need a mount namespace, in which the cgroup filesystem is read-only (root in the sandbox could otherwise raise them): add mnt to --ns, or run as a non-root --user", nsList(s.Namespaces))
	}
	switch s.CgroupManager {
	case "", ManagerCgroupfs:
		if s.CgroupParent != "" && (!strings.HasPrefix(s.CgroupParent, "/") || strings.Contains(s.CgroupParent, "..")) {
			return fmt.Errorf("cgroup parent %q: want an absolute path without '..'", s.CgroupParent)
		}
	case ManagerSystemd:
		if err := systemd.ValidSlice(s.CgroupParent); err != nil {
			return fmt.Errorf("--cgroup-parent %s: --cgroup-manager systemd: %w", s.CgroupParent, err)
		}
	default:
		return fmt.Errorf("--cgroup-manager %s: want systemd or cgroupfs", s.CgroupManager)
	}
	return nil
}

// DefaultSwap applies docker's default when a memory limit is given
// without a memory+swap limit: as much swap as memory (memory plus swap =
// twice the memory) where the kernel accounts swap (f.SwapAccounted);
// elsewhere, as in docker, memory is limited and swap is not. It is
// docker run's rule for --memory, so it lives with the spec rather than
// with cgroup.Resources, which ctop update also writes and where a nil
// MemorySwap must stay "leave alone".
func (s *Spec) DefaultSwap(f *cgroup.FS) {
	r := &s.Resources
	if r.MemoryMax == nil || r.MemorySwap != nil || !r.MemoryMax.Finite() || !f.SwapAccounted() {
		return
	}
	l := cgroup.LimitOf(2 * r.MemoryMax.V)
	r.MemorySwap = &l
}

// CgroupPath is the sandbox's cgroup path. Under systemd it is known only
// once the scope is made (see Sandbox.Cgroup); until then it is the
// scope's place under the system manager.
func (s *Spec) CgroupPath() string {
	if s.systemd() {
		return "/" + s.CgroupParent + "/" + systemd.UnitName(s.Name)
	}
	return filepath.Join(s.CgroupParent, s.Name)
}

// systemd reports whether the sandbox is a systemd scope.
func (s *Spec) systemd() bool { return s.CgroupManager == ManagerSystemd }

// environ is the command's environment.
func (s *Spec) environ() []string {
	home := "/root"
	if s.User != nil {
		home = cmp.Or(s.User.Home, "/")
	}
	env := []string{defaultPath, "HOME=" + home}
	if s.Hostname != "" {
		env = append(env, "HOSTNAME="+s.Hostname)
	}
	if s.TTY {
		env = append(env, "TERM=xterm")
	}
	for _, e := range s.Env {
		k, _, _ := strings.Cut(e, "=")
		env = slices.DeleteFunc(env, func(x string) bool { return strings.HasPrefix(x, k+"=") })
		env = append(env, e)
	}
	return env
}
