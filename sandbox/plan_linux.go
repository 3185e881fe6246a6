package sandbox

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// A plan is a sandbox's init as data: the steps that set the sandbox up,
// in order, then the command to execute. buildPlan writes it once from
// the spec, and every way of starting a sandbox runs that one list:
//
//   - a launch (launch_linux.go): the nest thread makes the first forkAt
//     steps (the namespaces and what in them needs no process of the
//     sandbox), then the vfork child makes the rest as raw system calls
//     (plan.launch compiles them) and executes the command;
//   - the re-executed init and ctop exec's child (init_linux.go, runSteps)
//     make the same steps on their locked thread, by the same raw calls,
//     resolving the sandbox's paths in its root when it has one.
//
// A hardening step is therefore added here once and is made on every
// path. Steps that only one path can make (joining v1 cgroups from the
// child, pivot_root onto a rootfs, the overlay) are steps of the same
// list that buildPlan includes only where the spec and the path need them.
type plan struct {
	steps []step
	// forkAt: on a launch, steps[:forkAt] are the nest's, the rest the
	// child's; 0 otherwise.
	forkAt int
	// cloneFlags are clone3's namespace flags for a launch's child.
	cloneFlags uint64
	// argv and env are the command's; paths are the files to try, in
	// order, as execvp does.
	argv, env, paths []string
}

// via says which start a plan is for.
type via uint8

const (
	// viaLaunch: the nest and the vfork child of a launch.
	viaLaunch via = iota
	// viaInit: the re-executed init, started in its namespaces (clone's
	// flags) and placed in its cgroups by the parent.
	viaInit
	// viaExec: ctop exec's child, which joins a running sandbox.
	viaExec
)

// planEnv is what a plan needs besides the spec.
type planEnv struct {
	via via
	// cwd is the caller's directory, the default workdir without a root.
	cwd string
	// joins are the cgroup files (v1 tasks) by which a launch's child
	// moves itself into its groups; stdio are the fds (above 2) of its
	// streams.
	joins []string
	// joinFDs are joins opened by the parent, in order (see openJoins).
	joinFDs []int
	stdio   [3]int
	// overlay is the init's --overlay root.
	overlay *overlayDirs
	// etc is the directory of the generated /etc/hostname, hosts and
	// resolv.conf bound into a root of the sandbox's own ("": none).
	etc string
	// mountNSFD and cgroupNSFD are exec's fds of the sandbox's
	// namespaces to join (0: none).
	mountNSFD, cgroupNSFD int
	// seccomp is the filter the parent compiled (nil: none).
	seccomp *filter
	// parentFD is exec's pidfd of ctop exec (0: none).
	parentFD int
	// userNSFD is exec's fd of the sandbox's user namespace, which only
	// a launched child (launched) can join: the kernel lets only a
	// process of one thread, sharing no filesystem context, do so.
	userNSFD int
	launched bool
	// initExe is the fd of the sealed copy of ctop that --init executes
	// (see pid1_linux.go; 0: run the command itself).
	initExe int
}

type stepKind uint8

const (
	stepUnshare      stepKind = iota // unshare(n)
	stepSetns                        // setns(fd, n)
	stepSetsid                       // setsid()
	stepDup                          // dup3(fd, n)
	stepConsole                      // open a terminal in the sandbox's devpts, send its master over fd 0, make it fds 0-2 and the controlling one
	stepPdeathsig                    // parent-death signal SIGKILL
	stepParentAlive                  // fail when ctop (pidfd set at fork) has exited
	stepSignal                       // reset signal n to its default action
	stepJoin                         // join a v1 cgroup: write "0" to path, or to fd when not 0
	stepHostname                     // sethostname(path)
	stepLoopback                     // bring up lo
	stepMount                        // mount(src, path, fstype, flags, data)
	stepProc                         // mount a fresh proc on path
	stepReadOnly                     // make the tree at path read-only
	stepChdir                        // chdir(path)
	stepNofile                       // soft limit on open files to n
	stepCapDrop                      // drop capability n from the bounding set
	stepAmbientClear                 // clear the ambient set
	stepCapset                       // effective and permitted sets to mask
	stepSetgroups                    // supplementary groups to gids (none when empty)
	stepSetgid                       // all gids to n
	stepSetuid                       // all uids to n
	stepNoNewPrivs                   // set no_new_privs
	stepSeccomp                      // install the seccomp filter
	stepDevice                       // bind the host's device node src at path, made as an empty file when absent
	stepMkdir                        // mkdir(path, mode) unless it exists; chown a new one to uid n-1, gid fd-1 (0: leave)
	stepMknod                        // mknod(path, S_IFCHR|mode, n)
	stepChmod                        // chmod(path, mode)
	stepCreate                       // create an empty file at path (mode)
	stepSymlink                      // symlink(src, path)
	stepWritable                     // make the tree at path writable (a -v in the read-only host view)
	stepTreeClone                    // open_tree: a detached copy of the tree at path, its fd in *slot
	stepTreeMove                     // move_mount the tree in *slot onto path
	// The steps of a sandbox with a root of its own, which only the
	// re-executed init makes.
	stepRoot  // mount src on path (a bind of the rootfs, or the overlay): the root
	stepSys   // a read-only /sys at path; n: in a new network namespace
	stepPivot // pivot_root into the root
)

// mkKind says what the init makes at a step's path, in a root, when absent.
type mkKind uint8

const (
	mkNone   mkKind = iota
	mkDir           // a directory of mode mode
	mkSource        // a directory or an empty file, as src is
)

// step is one step of a plan.
type step struct {
	kind stepKind
	// what names the step in an error message.
	what string
	n    int
	fd   int
	// path is the sandbox's: a target, a directory, a file, a name.
	path              string
	src, fstype, data string
	// flags are mount(2)'s; for stepReadOnly the fallback remount's
	// (see launch.remountRO), used when haveFlags.
	flags     uintptr
	haveFlags bool
	mask      uint64
	// skip is an errno meaning the step does not apply (ENOENT: a path
	// docker masks that this kernel does not have).
	skip syscall.Errno
	// inRoot: path (and src, with self) resolve in the sandbox's root,
	// where mk says what to make when absent.
	inRoot bool
	self   bool // src is path: a bind of a path onto itself
	mk     mkKind
	mode   os.FileMode
	// slot holds the fd of a tree stepTreeClone copied for the
	// stepTreeMove that shares it (-1: none).
	slot *int32
	// flat: stepReadOnly makes only the mount at path read-only, not
	// those under it.
	flat bool
	// fresh marks a step on the fresh /proc, left out when the init had
	// to bind the host's instead (a user namespace without its own pid
	// namespace may not mount proc).
	fresh bool
	// filter is stepSeccomp's.
	filter *filter
	// gids are stepSetgroups's.
	gids []uint32
}

// canLaunch reports whether a sandbox can start by a launch (see
// launch_linux.go) rather than by the re-executed init: one that keeps the
// host's files, whose mount points the parent can check before the fork,
// and has no user namespace, whose id maps the parent would have to write
// while the child waits, nor a systemd scope, which is made around the
// waiting child.
func canLaunch(s *Spec) bool {
	return directLaunchArch && s.Rootfs == "" && !s.Has(NSUser) && !s.viaInit && !s.systemd() && haveClone3()
}

// haveClone3 reports whether clone3 exists (Linux 5.3) and may be used (a
// seccomp filter, such as docker's default one, may answer ENOSYS). The probe passes
// no arguments, which the kernel refuses before it creates anything.
var haveClone3 = sync.OnceValue(func() bool {
	_, _, e := unix.RawSyscall(unix.SYS_CLONE3, 0, 0, 0)
	// Older seccomp profiles answer EPERM.
	return e != unix.ENOSYS && e != unix.EPERM
})

// nestSteps are a plan's first steps: the namespaces (a launch's nest
// unshares them; the init is cloned in them) and what in them needs no
// process of the sandbox.
func nestSteps(s *Spec, v via) []step {
	if v == viaExec {
		return nil
	}
	var view []step
	if v == viaLaunch && s.nestView {
		view = hostView(s)
	}
	out := make([]step, 0, 4+len(view))
	if v == viaLaunch {
		out = append(out, step{kind: stepUnshare, n: nestFlags(s), what: "create namespaces"})
	}
	if s.Has(NSMount) {
		// Nothing mounted in the sandbox may propagate back to the host.
		out = append(out, step{kind: stepMount, path: "/", flags: unix.MS_REC | unix.MS_PRIVATE, what: "make mounts private"})
	}
	if s.Has(NSUTS) && s.Hostname != "" {
		out = append(out, step{kind: stepHostname, path: s.Hostname, what: fmt.Sprintf("set hostname %q", s.Hostname)})
	}
	if s.Has(NSNet) {
		out = append(out, step{kind: stepLoopback, what: "bring up lo"})
	}
	return append(out, view...)
}

// viewInNest reports whether a launch's nest can make the host's view of
// a sandbox without a root of its own (hostView) while ctop makes the
// cgroups, leaving the child only what must follow the clone: joining
// the cgroups, the fresh /proc, which only a process in the new pid
// namespace can mount, and what is mounted after it. A -v whose source a
// private directory hides, or a --device, is copied before the private
// mounts and moved into place by the child; such a sandbox keeps the
// whole view in the child, as the copies cannot cross the clone.
func viewInNest(s *Spec) bool {
	if !s.Has(NSMount) || s.Has(NSUser) || s.Rootfs != "" || len(s.Devices) > 0 || resolvInPrivate() != "" {
		return false
	}
	for _, b := range s.Binds {
		if underPrivate(b.Source) != "" {
			return false
		}
	}
	return true
}

// openJoins opens the cgroup files a launch's child joins its groups by
// (close-on-exec, above 2, as the child's own fds are set up first). The
// child of a nest that made the host's view finds no cgroup filesystem
// at their paths, and none writable: the fresh sysfs hides them, or they
// were carried over read-only. close closes them once the child is
// cloned.
func openJoins(paths []string) (fds []int, close func(), err error) {
	close = func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	for _, p := range paths {
		fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			fd, err = above2(fd)
		}
		if err != nil {
			close()
			return nil, func() {}, fmt.Errorf("join cgroup %s: %w", filepath.Dir(p), err)
		}
		fds = append(fds, fd)
	}
	return fds, close, nil
}

// hostView are the steps of a sandbox without a root of its own that
// need no process in its namespaces (see viewInNest), in the order
// mounts makes them: the host's files read-only, the private
// directories, /dev, a fresh /sys and the cgroup filesystems read-only.
func hostView(s *Spec) []step {
	dev := hostDev()
	if !s.Has(NSIPC) {
		dev = devSteps(false, false, true)
	}
	out := make([]step, 0, len(hostRO())+len(hostTmp())+len(dev)+4+len(cgroupRO()))
	switch {
	case s.HostRoot == HostRootRW:
	case s.noSetattr:
		out = append(out, hostReadOnly(false)...)
	default:
		out = append(out, hostRO()...)
	}
	out = append(out, hostTmp()...)
	out = append(out, dev...)
	out = append(out, hostSys(s)...)
	if !s.Has(NSNet) && !s.Has(NSCgroup) {
		out = append(out, cgroupRO()...)
	}
	return out
}

// hostSys is /sys in a sandbox without a root of its own: in a new
// network namespace a fresh sysfs, onto which the host's cgroup
// filesystems, hidden by it, are carried over read-only (without a cgroup
// namespace fresh mounts would show the same, at the cost of a mount
// each; with one, mounts shows the sandbox's own groups instead).
func hostSys(s *Spec) []step {
	switch {
	case s.Has(NSNet) && !s.Has(NSCgroup) && len(cgroupFS()) > 0:
		slot := new(int32)
		*slot = -1
		return []step{
			{kind: stepTreeClone, path: "/sys/fs/cgroup", slot: slot, skip: unix.ENOSYS, what: "copy the cgroup filesystems"},
			sysfsStep(),
			{kind: stepTreeMove, path: "/sys/fs/cgroup", slot: slot, skip: unix.ENOSYS, what: "move the cgroup filesystems to /sys/fs/cgroup"},
			{kind: stepReadOnly, path: "/sys/fs/cgroup", skip: unix.EINVAL, what: "cgroup filesystems read-only"},
		}
	case s.Has(NSNet):
		return []step{sysfsStep()}
	}
	return nil
}

// buildPlan writes out the init of a sandbox for the start e.via.
func buildPlan(s *Spec, e planEnv) *plan {
	p := &plan{argv: s.Command, env: s.environ()}
	nest := nestSteps(s, e.via)
	// Room for every step (some 120), so that the list does not grow.
	p.steps = make([]step, 0, 48+len(nest)+len(hostRO())+len(hostTmp())+len(hostDev())+len(hostMasks())+len(cgroupFS())+
		len(capDrops())+len(s.Binds)*2+len(s.Tmpfs)+len(s.Devices)*3)
	p.steps = append(p.steps, nest...)
	add := func(st step) { p.steps = append(p.steps, st) }
	switch e.via {
	case viaLaunch:
		p.forkAt = len(p.steps)
		if s.Has(NSTime) {
			// See nestFlags.
			p.cloneFlags = unix.CLONE_NEWTIME
		}
		if s.TTY {
			add(step{kind: stepSetsid, what: "start a session"})
		}
		for i, fd := range e.stdio {
			add(step{kind: stepDup, fd: fd, n: i, what: "set up fd " + strconv.Itoa(i)})
		}
		add(step{kind: stepPdeathsig, what: "set parent-death signal"})
		add(step{kind: stepParentAlive, what: "ctop exited while starting the sandbox"})
		for i, f := range e.joins {
			st := step{kind: stepJoin, path: f, what: "join cgroup " + filepath.Dir(f)}
			if i < len(e.joinFDs) {
				st.fd = e.joinFDs[i]
			}
			add(st)
		}
	case viaExec:
		if e.launched {
			// The streams and the cgroups, as a launch's child.
			if s.TTY {
				add(step{kind: stepSetsid, what: "start a session"})
			}
			for i, fd := range e.stdio {
				add(step{kind: stepDup, fd: fd, n: i, what: "set up fd " + strconv.Itoa(i)})
			}
			for _, f := range e.joins {
				add(step{kind: stepJoin, path: f, what: "join cgroup " + filepath.Dir(f)})
			}
		}
		// The parent cannot set it: see ctop exec's NOTE. A ctop exec
		// killed before it was set would never send it: the check after
		// it ends the child then, as a launch's does.
		add(step{kind: stepPdeathsig, what: "set parent-death signal"})
		if e.parentFD > 0 {
			add(step{kind: stepParentAlive, fd: e.parentFD, what: "ctop exec exited while starting the command"})
		}
		if e.cgroupNSFD > 0 {
			add(step{kind: stepSetns, fd: e.cgroupNSFD, n: unix.CLONE_NEWCGROUP, what: "enter cgroup namespace"})
		}
		if e.mountNSFD > 0 {
			// A thread sharing its filesystem context (all Go threads
			// do) may not join a mount namespace.
			add(step{kind: stepUnshare, n: unix.CLONE_FS, what: "unshare fs"})
			add(step{kind: stepSetns, fd: e.mountNSFD, n: unix.CLONE_NEWNS, what: "enter mount namespace"})
		}
		if e.userNSFD > 0 {
			// Last: entering it gives every capability in it and none
			// outside. The credentials follow (privileges: exec's spec
			// has a user), since the caller's ids may be unmapped in it.
			add(step{kind: stepSetns, fd: e.userNSFD, n: unix.CLONE_NEWUSER, what: "enter user namespace"})
		}
	}
	if e.via != viaExec {
		if s.Has(NSCgroup) {
			// Unshared only now that this process is in its cgroup, so
			// the namespace's root is the sandbox's own group.
			add(step{kind: stepUnshare, n: unix.CLONE_NEWCGROUP, what: "unshare cgroup namespace"})
		}
		if s.Has(NSMount) {
			p.mounts(s, e)
		}
	}
	if s.TTY {
		// After the mounts, so that the terminal is of the sandbox's own
		// devpts (tty(1) prints /dev/pts/0), as runc's console socket.
		add(step{kind: stepConsole, what: "open the terminal (-t)"})
	}
	p.steps = append(p.steps, signalResets()...)
	dir := s.Workdir
	if dir == "" && s.Rootfs == "" {
		dir = e.cwd
	}
	if dir != "" {
		if s.Workdir != "" {
			p.mkdirAll(s, dir)
		}
		st := step{kind: stepChdir, path: dir, what: "--workdir " + dir}
		if s.Workdir == "" {
			// The caller's directory may be under a private /tmp: the
			// command then starts in the host's, hidden and read-only.
			st.skip = unix.ENOENT
		}
		add(st)
	}
	if e.via == viaLaunch {
		// The init's execve restores Go's own record (syscall.Exec).
		if n, ok := goRaisedNofile(); ok {
			add(step{kind: stepNofile, n: n, what: "restore the open files limit"})
		}
	}
	p.privileges(s, e)
	p.paths = candidates(s.Command[0], p.env)
	if s.Init && e.initExe > 0 {
		pid1Exec(p, e.initExe)
	}
	return p
}

// mkdirAll: -w makes a missing working directory and its missing
// parents, as docker does, owned by the sandbox's --user; made in the
// sandbox (after its mounts, so in a tmpfs or a bind given with it) while
// the init still has its capabilities.
func (p *plan) mkdirAll(s *Spec, dir string) {
	var uid, gid int
	if s.User != nil {
		uid, gid = int(s.User.UID)+1, int(s.User.GID)+1
	}
	var dirs []string
	for d := filepath.Clean(dir); d != "/"; d = filepath.Dir(d) {
		dirs = append(dirs, d)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		p.steps = append(p.steps, step{kind: stepMkdir, path: dirs[i], mode: 0o755, n: uid, fd: gid,
			what: "--workdir " + dir + ": mkdir " + dirs[i]})
	}
}

// mounts: with a root of its own, first the root; without, the host's
// files read-only (unless --host-root rw) and a private /tmp, /var/tmp and
// /run; then a fresh /proc, a minimal /dev, /sys and the cgroup
// filesystems read-only, the binds and tmpfs asked for, docker's masked
// and read-only paths; with a root, its /etc files, --read-only and last
// pivot_root into it.
func (p *plan) mounts(s *Spec, e planEnv) {
	add := func(st step) { p.steps = append(p.steps, st) }
	hasRoot := e.overlay != nil || s.Rootfs != ""
	roHost := !hasRoot && s.HostRoot != HostRootRW
	// A launch's nest has made the host's view (hostView).
	inNest := e.via == viaLaunch && s.nestView
	switch {
	case inNest:
	case e.overlay != nil:
		o := e.overlay
		add(step{kind: stepRoot, src: "overlay", path: o.Merged, fstype: "overlay", what: "--overlay",
			data: "lowerdir=" + o.Lower + ",upperdir=" + o.Upper + ",workdir=" + o.Work})
	case s.Rootfs != "":
		// pivot_root needs the new root to be a mount point.
		add(step{kind: stepRoot, src: s.Rootfs, path: s.Rootfs, flags: unix.MS_BIND | unix.MS_REC, what: "--rootfs " + s.Rootfs})
	case roHost && s.noSetattr:
		p.steps = append(p.steps, hostReadOnly(false)...)
	case roHost:
		p.steps = append(p.steps, hostRO()...)
	}
	add(step{kind: stepProc, src: "proc", path: "/proc", fstype: "proc", flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC,
		inRoot: true, mk: mkDir, mode: 0o555, what: "mount proc on /proc"})
	// A -v of a path under a private directory is copied before the
	// directory is hidden, and moved into place with the other binds.
	binds := s.Binds
	if r := resolvInPrivate(); r != "" && !hasRoot {
		// A resolv.conf that links into /run (systemd-resolved's) is
		// carried over as a -v of its target, read-only.
		binds = append(slices.Clip(binds), Bind{Source: r, Dest: r, ReadOnly: true})
	}
	copies := make([]*int32, len(binds))
	if !hasRoot && !inNest {
		for i, b := range binds {
			if underPrivate(b.Source) != "" {
				copies[i] = new(int32)
				*copies[i] = -1
				add(step{kind: stepTreeClone, path: b.Source, slot: copies[i], what: fmt.Sprintf("-v %s:%s: copy", b.Source, b.Dest)})
			}
		}
		p.steps = append(p.steps, hostTmp()...)
	}
	// A --device's host node is copied before the sandbox's own /dev hides
	// the host's, as a -v under a private directory is.
	devCopies := make([]*int32, len(s.Devices))
	if !hasRoot && !inNest {
		for i, d := range s.Devices {
			devCopies[i] = new(int32)
			*devCopies[i] = -1
			add(step{kind: stepTreeClone, path: d.Host, slot: devCopies[i], what: "--device " + d.Host + ": copy"})
		}
	}
	switch {
	case inNest:
	case hasRoot:
		p.steps = append(p.steps, devSteps(s.Has(NSUser), s.Has(NSIPC), false)...)
		n := 0
		if s.Has(NSNet) {
			n = 1
		}
		add(step{kind: stepSys, path: "/sys", n: n, inRoot: true, what: "/sys"})
	default:
		p.steps = append(p.steps, devSteps(s.Has(NSUser), s.Has(NSIPC), true)...)
		p.steps = append(p.steps, hostSys(s)...)
	}
	switch {
	case s.Has(NSCgroup):
		// In the sandbox's cgroup namespace these show its own groups.
		p.steps = append(p.steps, cgroupFS()...)
	case !hasRoot && !s.Has(NSNet) && !inNest:
		p.steps = append(p.steps, cgroupRO()...)
	}
	for i, b := range binds {
		what := fmt.Sprintf("-v %s:%s", b.Source, b.Dest)
		dest := filepath.Join("/", b.Dest)
		if !hasRoot {
			p.steps = append(p.steps, privateMountPoint(b.Source, dest, what)...)
		}
		if copies[i] != nil {
			add(step{kind: stepTreeMove, path: dest, slot: copies[i], what: what})
		} else {
			add(step{kind: stepMount, src: b.Source, path: dest, flags: unix.MS_BIND | unix.MS_REC,
				inRoot: true, mk: mkSource, what: what})
		}
		switch {
		case b.ReadOnly:
			// MS_RDONLY on the first bind is ignored; a bind mount becomes
			// read-only only by remounting it. The bind will have the
			// source's mount flags.
			flags, err := lockedFlags(b.Source)
			add(step{kind: stepReadOnly, path: dest, flags: flags, haveFlags: err == nil,
				inRoot: true, what: what + ":ro"})
		case roHost && writableSource(b.Source):
			// A bind of the read-only host view is read-only: made
			// writable again, as the host's mount is.
			flags, err := lockedFlags(b.Source)
			add(step{kind: stepWritable, path: dest, flags: flags, haveFlags: err == nil, what: what + ": writable"})
		}
	}
	for _, t := range s.Tmpfs {
		add(step{kind: stepMount, src: "tmpfs", path: filepath.Join("/", t.Dest), fstype: "tmpfs",
			flags: tmpfsFlags(t), data: tmpfsData(t), inRoot: true, mk: mkDir, mode: 0o755,
			what: "--tmpfs " + t.Dest})
	}
	for i, d := range s.Devices {
		// The node is bound, not made with mknod, so that it works
		// in a user namespace too and on a /dev mounted nodev; the empty
		// file it is bound on is made in the sandbox's /dev, the host's
		// view only where it exists already (Validate).
		what := "--device " + d.Host + ":" + d.Container
		if devCopies[i] != nil {
			add(step{kind: stepCreate, path: d.Container, mode: 0o600, what: what + ": create"})
			add(step{kind: stepTreeMove, path: d.Container, slot: devCopies[i], what: what})
			continue
		}
		add(step{kind: stepDevice, src: d.Host, path: d.Container, inRoot: true, mk: mkSource, what: what})
	}
	p.steps = append(p.steps, hostMasks()...)
	if !hasRoot {
		return
	}
	if e.etc != "" {
		for _, f := range etcFiles(s) {
			// Only where the rootfs has the file: ctop adds nothing to it.
			add(step{kind: stepMount, src: filepath.Join(e.etc, f), path: "/etc/" + f, flags: unix.MS_BIND,
				inRoot: true, skip: unix.ENOENT, what: "bind /etc/" + f})
		}
	}
	if s.ReadOnly {
		// The root's own mount, as docker's --read-only: what is mounted
		// on it stays as it is.
		var flags uintptr
		var err error
		if s.Rootfs != "" && e.overlay == nil {
			flags, err = lockedFlags(s.Rootfs)
		}
		add(step{kind: stepReadOnly, path: "/", flags: flags, haveFlags: err == nil, flat: true, inRoot: true, what: "--read-only"})
	}
	add(step{kind: stepPivot, what: "pivot_root"})
}

// tmpfsFlags are a --tmpfs's mount flags: docker's nosuid, nodev and
// noexec unless the option lifts them.
func tmpfsFlags(t Tmpfs) uintptr {
	var flags uintptr
	if !t.Suid {
		flags |= unix.MS_NOSUID
	}
	if !t.Dev {
		flags |= unix.MS_NODEV
	}
	if !t.Exec {
		flags |= unix.MS_NOEXEC
	}
	return flags
}

// hostMasks, cgroupRO and capDrops are steps plans share, made once per
// process: they read the host, which a start should not pay for again.
// capDrops are the default capabilities'; a spec with --cap-add or
// --cap-drop has its own (dropCaps).
var (
	hostMasks = sync.OnceValue(masks)
	cgroupRO  = sync.OnceValue(cgroupReadOnly)
	hostTmp   = sync.OnceValue(privateMounts)
	// hostDev is the /dev of a launched sandbox with its own ipc
	// namespace (the steps of one in a user namespace carry copies).
	hostDev  = sync.OnceValue(func() []step { return devSteps(false, true, true) })
	capDrops = sync.OnceValue(func() []step { return dropCaps(DefaultCapMask()) })
)

// cgroupReadOnly: the host's cgroup filesystems are in view of a sandbox
// without a root of its own. Left writable, root in the sandbox could move
// itself out of its cgroup and its limits; docker mounts them read-only
// too.
func cgroupReadOnly() []step {
	if _, err := os.Stat("/sys/fs/cgroup"); err != nil {
		return nil
	}
	flags, err := lockedFlags("/sys/fs/cgroup")
	return []step{{kind: stepReadOnly, path: "/sys/fs/cgroup", flags: flags, haveFlags: err == nil,
		skip: unix.ENOENT, what: "cgroup filesystems"}}
}

// masks: docker's masked and read-only paths.
func masks() []step {
	var out []step
	// The fresh /proc has the entries of the host's (one kernel), so what
	// to mask is decided here; ENOENT is still taken as "absent".
	for _, p := range maskedPaths() {
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		m := step{kind: stepMount, path: p, skip: unix.ENOENT, inRoot: true, fresh: true, what: "mask " + p}
		if st.IsDir() {
			m.src, m.fstype, m.flags, m.data = "tmpfs", "tmpfs", unix.MS_RDONLY, "size=0"
		} else {
			m.src, m.flags = "/dev/null", unix.MS_BIND
		}
		out = append(out, m)
	}
	for _, p := range readonlyPaths() {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		out = append(out,
			step{kind: stepMount, path: p, self: true, flags: unix.MS_BIND | unix.MS_REC, skip: unix.ENOENT,
				inRoot: true, fresh: true, what: "read-only " + p},
			// The bind is of the fresh /proc, not the host's.
			step{kind: stepReadOnly, path: p, flags: procFlags, haveFlags: true, inRoot: true, fresh: true,
				what: "read-only " + p})
	}
	return out
}

// procFlags are the mount flags of the /proc a plan mounts (relatime is
// the kernel's default), which a remount of it must repeat.
const procFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RELATIME

// signalResets give the command the default action for every signal
// ctop ignores (a detached sandbox's monitor ignores SIGHUP, SIGINT,
// SIGTERM and SIGPIPE; a ctop started under nohup, SIGHUP), as a
// container starts with. The runtime has already reset those it handles
// in a launch's child (runtime_AfterForkInChild), and execve resets the
// rest but keeps an ignored signal ignored.
func signalResets() []step {
	var out []step
	for sig := 1; sig <= 64; sig++ {
		if s := syscall.Signal(sig); s != unix.SIGKILL && s != unix.SIGSTOP && signal.Ignored(s) {
			out = append(out, step{kind: stepSignal, n: sig, what: fmt.Sprintf("reset the action of signal %d", sig)})
		}
	}
	return out
}

// goRaisedNofile returns the soft limit on open files to restore, if it
// was most likely raised. The Go runtime raises it to the hard limit less
// one at start and restores it in its own children
// (syscall.origRlimitNofile, which it keeps to itself). A soft limit just
// below the hard one is taken as raised by Go, from the kernel's default
// of 1024.
func goRaisedNofile() (int, bool) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil || lim.Max == 0 || lim.Cur != lim.Max-1 {
		return 0, false
	}
	return int(min(1024, lim.Max)), true
}

// privileges: the capabilities (docker's defaults, with --cap-add and
// --cap-drop), the spec's user, no_new_privs and the parent-death signal
// again (a change of credentials clears it), and last the seccomp filter f.
//
// The filter is installed last, so that it constrains the command and
// none of the steps; no_new_privs lets a process without CAP_SYS_ADMIN
// install it (seccomp(2)). Without no_new_privs
// (--security-opt no-new-privileges=false) it is installed first, while
// the init still holds CAP_SYS_ADMIN, as runc does, and the steps after
// it must pass it (docker's profile allows them).
func (p *plan) privileges(s *Spec, e planEnv) {
	f := e.seccomp
	add := func(st step) { p.steps = append(p.steps, st) }
	seccomp := step{kind: stepSeccomp, filter: f, what: "install the seccomp filter"}
	if f != nil && s.NewPrivileges {
		add(seccomp)
	}
	mask, err := s.capMask()
	switch {
	case err != nil:
		// Validate refuses the spec first; were it not, none.
		p.steps = append(p.steps, dropCaps(0)...)
	case mask == DefaultCapMask():
		p.steps = append(p.steps, capDrops()...)
	default:
		p.steps = append(p.steps, dropCaps(mask)...)
	}
	if s.User == nil && s.setGroups {
		// Root of a namespace newgidmap mapped: not the caller's groups,
		// which would keep their rights on the host's files.
		add(step{kind: stepSetgroups, what: "setgroups"})
	}
	if u := s.User; u != nil {
		who := fmt.Sprintf("--user %d:%d", u.UID, u.GID)
		// setgroups is denied in a user namespace ctop mapped itself (it
		// writes "deny" to setgroups so an unprivileged caller can map
		// gids), allowed in one newgidmap mapped.
		if !s.Has(NSUser) || s.setGroups {
			add(step{kind: stepSetgroups, gids: u.Groups, what: who + ": setgroups"})
		}
		add(step{kind: stepSetgid, n: int(u.GID), what: who + ": setgid"})
		// A non-zero uid loses its permitted and effective capabilities
		// here, as in docker for a non-root user.
		add(step{kind: stepSetuid, n: int(u.UID), what: who + ": setuid"})
	}
	if !s.NewPrivileges {
		add(step{kind: stepNoNewPrivs, what: "set no_new_privs"})
	}
	add(step{kind: stepPdeathsig, what: "set parent-death signal"})
	if e.via == viaExec && e.parentFD > 0 && s.User != nil {
		// The change of credentials cleared the signal: the same window
		// again.
		add(step{kind: stepParentAlive, fd: e.parentFD, what: "ctop exec exited while starting the command"})
	}
	if f != nil && !s.NewPrivileges {
		add(seccomp)
	}
}

// dropCaps limits the bounding, effective and permitted sets to mask and
// empties the ambient and inheritable ones, as docker 20.10 does (since
// 20.10.14, CVE-2022-24769, its inheritable set is empty).
func dropCaps(mask uint64) []step {
	var out []step
	last := lastCap()
	for c := 0; c <= last; c++ {
		if mask&(1<<uint(c)) == 0 {
			out = append(out, step{kind: stepCapDrop, n: c, what: fmt.Sprintf("drop capability %d from the bounding set", c)})
		}
	}
	return append(out,
		step{kind: stepAmbientClear, what: "clear ambient capabilities"},
		step{kind: stepCapset, mask: mask, what: "set capabilities"})
}

// candidates are the paths to try for the command: the name itself when
// it has a slash, else each directory of the sandbox's PATH in order, as
// execvp does.
func candidates(name string, env []string) []string {
	if strings.Contains(name, "/") {
		return []string{name}
	}
	pathEnv := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			pathEnv = v
		}
	}
	var out []string
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "."
		}
		out = append(out, filepath.Join(d, name))
	}
	return out
}

// planLaunch is the launch of a sandbox without a rootfs, less the nest's
// steps.
func planLaunch(s *Spec, cwd string, joins []string, stdio [3]int, f *filter) *launch {
	return buildPlan(s, planEnv{via: viaLaunch, cwd: cwd, joins: joins, stdio: stdio, seccomp: f}).launch()
}

// launch compiles the child's steps and the command into a launch.
func (p *plan) launch() *launch {
	n := len(p.steps) - p.forkAt
	l := &launch{cgroupFD: -1, name: p.argv[0], flags: p.cloneFlags,
		ops: make([]op, 0, n), keep: make([][]byte, 0, n+len(p.argv)+len(p.env)+len(p.paths))}
	for i := p.forkAt; i < len(p.steps); i++ {
		l.add(&p.steps[i])
	}
	l.pathNames = p.paths
	for _, s := range p.paths {
		l.paths = append(l.paths, l.cstrp(s))
	}
	for _, a := range p.argv {
		l.argv = append(l.argv, l.cstrp(a))
	}
	for _, e := range p.env {
		l.envv = append(l.envv, l.cstrp(e))
	}
	l.argv, l.envv = append(l.argv, nil), append(l.envv, nil)
	return l
}
