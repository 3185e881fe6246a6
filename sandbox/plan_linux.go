package sandbox

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// canLaunch reports whether a sandbox can start by a launch (see
// launch_linux.go) rather than by the re-executed init: one that keeps the
// host's files, whose mount points the parent can check before the fork,
// and has no user namespace, whose id maps the parent would have to write
// while the child waits.
func canLaunch(s *Spec) bool {
	return directLaunchArch && s.Rootfs == "" && !s.Has(NSUser) && haveClone3()
}

// haveClone3 reports whether clone3 exists (Linux 5.3) and may be used (a
// seccomp filter, such as docker's default one, may answer ENOSYS). The probe passes
// no arguments, which the kernel refuses before it creates anything.
var haveClone3 = sync.OnceValue(func() bool {
	_, _, e := unix.RawSyscall(unix.SYS_CLONE3, 0, 0, 0)
	// Older seccomp profiles answer EPERM.
	return e != unix.ENOSYS && e != unix.EPERM
})

// planLaunch writes out the init of a sandbox without a rootfs as system
// calls, step for step as setupNamespaces, setupMounts (without a root)
// and finishAndExec make them, less what the nest that clones the child
// has done (nest.enter). joins are the cgroup files (v1 tasks) by which
// the child moves itself into its groups; stdio are the fds (above 2) of
// its streams.
func planLaunch(s *Spec, cwd string, joins []string, stdio [3]int) *launch {
	l := &launch{cgroupFD: -1, name: s.Command[0]}
	if s.Has(NSTime) {
		l.flags = unix.CLONE_NEWTIME
	}
	if s.TTY {
		l.call("start a session", unix.SYS_SETSID)
	}
	for i, fd := range stdio {
		l.call("set up fd "+strconv.Itoa(i), unix.SYS_DUP3, uintptr(fd), uintptr(i), 0)
	}
	if s.TTY {
		l.call("set the controlling terminal", unix.SYS_IOCTL, 0, unix.TIOCSCTTY, 1)
	}
	l.call("set parent-death signal", unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL))
	l.ops = append(l.ops, op{kind: opParentAlive, what: "ctop exited while starting the sandbox"})
	l.alive = len(l.ops)
	l.resetSignals()
	for _, f := range joins {
		l.ops = append(l.ops, op{kind: opJoin, args: [6]uintptr{l.cstr(f)}, what: "join cgroup " + filepath.Dir(f)})
	}
	if s.Has(NSCgroup) {
		// Unshared only now that this process is in its cgroup, so the
		// namespace's root is the sandbox's own group.
		l.call("unshare cgroup namespace", unix.SYS_UNSHARE, unix.CLONE_NEWCGROUP)
	}
	if s.Has(NSMount) {
		l.mounts(s)
	}
	dir := s.Workdir
	if dir == "" {
		dir = cwd
	}
	if dir != "" {
		l.call("--workdir "+dir, unix.SYS_CHDIR, l.cstr(dir))
	}
	l.restoreNofile()
	l.privileges(s)
	l.command(s.Command, s.environ())
	return l
}

// resetSignals gives the command the default action for every signal
// ctop ignores (a detached sandbox's monitor ignores SIGHUP, SIGINT,
// SIGTERM and SIGPIPE; a ctop started under nohup, SIGHUP), as a
// container starts with. The runtime has already reset those it handles
// (runtime_AfterForkInChild), and execve resets the rest but keeps an
// ignored signal ignored.
func (l *launch) resetSignals() {
	for sig := 1; sig <= 64; sig++ {
		if s := syscall.Signal(sig); s != unix.SIGKILL && s != unix.SIGSTOP && signal.Ignored(s) {
			// A zeroed struct sigaction: SIG_DFL, no flags, no mask.
			l.call(fmt.Sprintf("reset the action of signal %d", sig), unix.SYS_RT_SIGACTION,
				uintptr(sig), uintptr(unsafe.Pointer(&defaultAction)), 0, 8)
		}
	}
}

// defaultAction is struct sigaction (any architecture's layout) for
// SIG_DFL.
var defaultAction [4]uint64

// restoreNofile lowers the soft limit on open files back where it most
// likely was. The Go runtime raises it to the hard limit less one at start
// and restores it in its own children (syscall.origRlimitNofile, which it
// keeps to itself); the re-executed init gets the original back that way.
// A soft limit just below the hard one is taken as raised by Go, from the
// kernel's default of 1024.
func (l *launch) restoreNofile() {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil || lim.Max == 0 || lim.Cur != lim.Max-1 {
		return
	}
	l.nofile = &unix.Rlimit{Cur: min(1024, lim.Max), Max: lim.Max}
	l.call("restore the open files limit", unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, uintptr(unsafe.Pointer(l.nofile)), 0)
}

// mounts: in the private copy of the host's mounts (nest.enter), a fresh
// /proc, the binds and tmpfs asked for, docker's masked and read-only
// paths, and the cgroup filesystems read-only.
func (l *launch) mounts(s *Spec) {
	l.mount("mount proc on /proc", "proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	for _, b := range s.Binds {
		what := fmt.Sprintf("-v %s:%s", b.Source, b.Dest)
		target := filepath.Join("/", b.Dest)
		l.mount(what, b.Source, target, "", unix.MS_BIND|unix.MS_REC, "")
		if b.ReadOnly {
			// MS_RDONLY on the first bind is ignored; a bind mount becomes
			// read-only only by remounting it. The bind will have the
			// source's mount flags.
			flags, err := lockedFlags(b.Source)
			l.remountRO(what+":ro", target, flags, err == nil)
		}
	}
	for _, t := range s.Tmpfs {
		l.mount("--tmpfs "+t.Dest, "tmpfs", filepath.Join("/", t.Dest), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, tmpfsData(t))
	}
	l.include(hostMasks())
}

// hostMasks and capDrops are the steps every launch shares, made once
// per process; their memory stays referenced for the process's life.
var (
	hostMasks = sync.OnceValue(func() *launch {
		l := &launch{}
		l.masks()
		return l
	})
	capDrops = sync.OnceValue(func() *launch {
		l := &launch{}
		l.dropCaps()
		return l
	})
)

// include appends the steps of b, whose memory b keeps.
func (l *launch) include(b *launch) {
	n := len(l.alts)
	for _, o := range b.ops {
		if o.fallback > 0 {
			o.fallback += n
		}
		l.ops = append(l.ops, o)
	}
	l.alts = append(l.alts, b.alts...)
}

// masks: docker's masked and read-only paths and the cgroup filesystems
// read-only.
func (l *launch) masks() {
	// The fresh /proc has the entries of the host's (one kernel), so what
	// to mask is decided here; ENOENT is still taken as "absent".
	for _, p := range maskedPaths() {
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		var o *op
		if st.IsDir() {
			o = l.mount("mask "+p, "tmpfs", p, "tmpfs", unix.MS_RDONLY, "size=0")
		} else {
			o = l.mount("mask "+p, "/dev/null", p, "", unix.MS_BIND, "")
		}
		o.skip = unix.ENOENT
	}
	for _, p := range readonlyPaths() {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		l.mount("read-only "+p, p, p, "", unix.MS_BIND|unix.MS_REC, "").skip = unix.ENOENT
		// The bind is of the fresh /proc, not the host's.
		l.remountRO("read-only "+p, p, procFlags, true)
	}
	// The host's cgroup filesystems are in view: left writable, root in
	// the sandbox could move itself out of its cgroup and its limits.
	// Docker mounts them read-only too.
	if _, err := os.Stat("/sys/fs/cgroup"); err == nil {
		flags, err := lockedFlags("/sys/fs/cgroup")
		l.remountRO("cgroup filesystems", "/sys/fs/cgroup", flags, err == nil).skip = unix.ENOENT
	}
}

// procFlags are the mount flags of the /proc a launch mounts (relatime is
// the kernel's default), which a remount of it must repeat.
const procFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RELATIME

// remountRO makes the tree at target read-only with mount_setattr (Linux
// 5.12). On an older kernel it falls back, when haveFlags, to remounting
// the top mount with flags, those of the mount target will be, which the
// kernel may refuse to see cleared (see lockedFlags).
func (l *launch) remountRO(what, target string, flags uintptr, haveFlags bool) *op {
	if l.roAttr == nil {
		l.roAttr = &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	}
	o := l.call(what, unix.SYS_MOUNT_SETATTR, atFDCWD, l.cstr(target), unix.AT_RECURSIVE,
		uintptr(unsafe.Pointer(l.roAttr)), unsafe.Sizeof(*l.roAttr))
	if haveFlags {
		alt := op{kind: opCall, trap: unix.SYS_MOUNT, what: what,
			args: [6]uintptr{0, l.cstr(target), 0, unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | flags}}
		l.alts = append(l.alts, alt)
		o.fallback = len(l.alts)
	}
	return o
}

// privileges: docker's default capabilities, the spec's user, no_new_privs
// and the parent-death signal again (a change of credentials clears it).
// The re-executed init makes the same steps (dropPrivileges).
func (l *launch) privileges(s *Spec) {
	l.include(capDrops())
	if u := s.User; u != nil {
		who := fmt.Sprintf("--user %d:%d", u.UID, u.GID)
		// setgroups is denied in a user namespace ctop made (it writes
		// "deny" to setgroups so an unprivileged caller can map gids).
		if !s.Has(NSUser) {
			l.call(who+": setgroups", sysSetgroups, 0, 0)
		}
		l.call(who+": setgid", sysSetresgid, uintptr(u.GID), uintptr(u.GID), uintptr(u.GID))
		// A non-zero uid loses its permitted and effective capabilities
		// here, as in docker for a non-root user.
		l.call(who+": setuid", sysSetresuid, uintptr(u.UID), uintptr(u.UID), uintptr(u.UID))
	}
	l.call("set no_new_privs", unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1)
	l.call("set parent-death signal", unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL))
}

// dropCaps limits the bounding, ambient, effective and permitted sets to
// docker's default capabilities.
func (l *launch) dropCaps() {
	mask := DefaultCapMask()
	last := lastCap()
	for c := 0; c <= last; c++ {
		if mask&(1<<uint(c)) == 0 {
			l.call(fmt.Sprintf("drop capability %d from the bounding set", c), unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c))
		}
	}
	l.call("clear ambient capabilities", unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL)
	l.capHdr = &unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	l.capData = &[2]unix.CapUserData{
		{Effective: uint32(mask), Permitted: uint32(mask)},
		{Effective: uint32(mask >> 32), Permitted: uint32(mask >> 32)},
	}
	l.call("set capabilities", unix.SYS_CAPSET, uintptr(unsafe.Pointer(l.capHdr)), uintptr(unsafe.Pointer(l.capData)))
}

// command prepares execve's arguments and the paths to try: the name
// itself when it has a slash, else each directory of the sandbox's PATH
// in order, as execvp does.
func (l *launch) command(argv, env []string) {
	name := argv[0]
	if strings.Contains(name, "/") {
		l.pathNames = []string{name}
	} else {
		pathEnv := ""
		for _, e := range env {
			if v, ok := strings.CutPrefix(e, "PATH="); ok {
				pathEnv = v
			}
		}
		for _, d := range filepath.SplitList(pathEnv) {
			if d == "" {
				d = "."
			}
			l.pathNames = append(l.pathNames, filepath.Join(d, name))
		}
	}
	for _, p := range l.pathNames {
		l.paths = append(l.paths, l.cstrp(p))
	}
	for _, a := range argv {
		l.argv = append(l.argv, l.cstrp(a))
	}
	for _, e := range env {
		l.envv = append(l.envv, l.cstrp(e))
	}
	l.argv, l.envv = append(l.argv, nil), append(l.envv, nil)
}
