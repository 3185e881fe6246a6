package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A launch is a sandbox's init written out as the system calls it makes:
// the parent compiles the child's steps of the sandbox's plan
// (plan_linux.go) and prepares every argument, then a child cloned from it
// makes the calls between clone and execve, with nothing else running in
// it. The re-executed init makes the same steps by the same calls
// (runSteps).
//
// This replaces re-executing ctop as the init (see init_linux.go) for the
// sandboxes whose setup decides nothing inside the new mount namespace:
// those with the host's files (no --rootfs) and no user namespace. The
// re-executed init spends about 2 ms before its first system call of
// interest, starting a 16 MB Go binary and decoding its config; a launch
// spends none. Its child is also a single thread, so on cgroup v1 it can
// join each hierarchy by writing "0" to tasks, which moves only the
// caller and skips the kernel's process-wide migration lock.
//
// The child is cloned as by vfork(2) (vforkFlags): it shares the parent's
// memory and runs on the cloning goroutine's stack while that thread waits
// for its execve; other threads of the parent run on. (Without an assembly
// trampoline for the architecture it is a copy, as by fork.) It is not a
// Go process of its own: it may run only code that neither allocates, nor
// grows its stack, nor takes a lock, nor writes a pointer the garbage
// collector tracks. Everything from the clone to the execve is therefore
// marked nosplit (the linker checks the stack the chain needs), makes raw
// system calls only, and reads what the parent built. This is the
// discipline of the standard library's forkAndExecInChild, whose runtime
// hooks it uses; it cannot be used itself, as it runs no code of ours
// between clone and execve.
//
// Two costs of sharing: until the child has called execve the cloning
// thread keeps its processor and the fork lock, so the garbage collector
// cannot stop the world and no other child can be forked. A step that
// blocks (a bind of a path on a hung NFS server) stalls all of ctop, as a
// hung path in the standard library's own chdir or execve would. And the
// child joins its cgroups while it shares ctop's memory: a v1 cpuset with
// memory_migrate set would move ctop's pages to its nodes (ctop never
// sets it).

//go:linkname runtimeBeforeFork syscall.runtime_BeforeFork
func runtimeBeforeFork()

//go:linkname runtimeAfterFork syscall.runtime_AfterFork
func runtimeAfterFork()

//go:linkname runtimeAfterForkInChild syscall.runtime_AfterForkInChild
func runtimeAfterForkInChild()

// directLaunchArch: launches are made on 64-bit architectures, where every
// argument fits a system call's word; elsewhere the re-executed init
// starts every sandbox.
const directLaunchArch = unsafe.Sizeof(uintptr(0)) == 8

type opKind uint8

const (
	// opCall makes the system call trap with args.
	opCall opKind = iota
	// opJoin moves the (single-threaded) child into a v1 cgroup: open
	// args[0] (its tasks file), write "0", close; or write "0" to the fd
	// args[1] when it is not 0, which the parent opened.
	opJoin
	// opParentAlive fails with ESRCH when the process args[0] (a pidfd
	// of ctop, set by start) has exited: a parent that died before the
	// child set its parent-death signal would never send it.
	opParentAlive
	// opCreate makes an empty file at args[0] with mode args[1] unless
	// something is there already.
	opCreate
	// opTreeClone copies the tree at args[0] (open_tree) and keeps its
	// fd in *slot; opTreeMove moves that tree onto args[0] and closes the
	// fd (ENOSYS when *slot is -1: no copy was made).
	opTreeClone
	opTreeMove
	// opConsole opens a new terminal (args[0] is /dev/ptmx), sends its
	// master over fd 0 (msg) and makes the replica fds 0, 1 and 2 and
	// the controlling terminal.
	opConsole
	// opLoopback brings up lo (SIOCSIFFLAGS, as ip link set lo up does,
	// with no dependency on the ip binary).
	opLoopback
	// opMkdir makes the directory args[0] with mode args[1] unless it
	// exists; a new one is given to uid args[2]-1 and gid args[3]-1 when
	// args[2] is not 0.
	opMkdir
)

// op is one step of a launch.
type op struct {
	kind opKind
	trap uintptr
	args [6]uintptr
	// skip is an errno meaning the step does not apply (ENOENT: a path
	// docker masks that this kernel does not have).
	skip syscall.Errno
	// fallback, when not 0, is 1 + the index of the op to make instead
	// when this one fails with ENOSYS (mount_setattr on a kernel before
	// 5.12).
	fallback int
	// slot is the fd of opTreeClone and opTreeMove.
	slot *int32
	// msg is opConsole's message.
	msg *consoleMsg
	// what names the step in an error message.
	what string
}

// launch is everything the child needs; the parent keeps it (and the
// memory its pointers reach) alive until the fork has returned.
type launch struct {
	ops []op
	// alts are the fallbacks ops name.
	alts []op
	// clone3's flags and cgroup fd (CLONE_INTO_CGROUP when >= 0).
	flags    uint64
	cgroupFD int
	// paths are the candidates for the command, tried in order as execvp
	// does; argv and envv are NULL-terminated.
	paths      []*byte
	pathNames  []string
	argv, envv []*byte
	name       string
	// alive is 1 + the index of the opParentAlive step (0: none).
	alive int
	// keep and the fields below hold what the ops' pointers point to.
	keep    [][]byte
	roAttr  *unix.MountAttr
	rwAttr  *unix.MountAttr
	capHdr  *unix.CapUserHeader
	capData *[2]unix.CapUserData
	nofile  *unix.Rlimit
	fprog   *unix.SockFprog
	gids    []uint32
	slots   []*int32
	console *consoleMsg
}

// cstrp returns a NUL-terminated copy of s that the launch keeps alive.
func (l *launch) cstrp(s string) *byte {
	b := append([]byte(s), 0)
	l.keep = append(l.keep, b)
	return &b[0]
}

func (l *launch) cstr(s string) uintptr { return uintptr(unsafe.Pointer(l.cstrp(s))) }

func (l *launch) call(what string, trap uintptr, args ...uintptr) *op {
	o := op{kind: opCall, trap: trap, what: what}
	copy(o.args[:], args)
	l.ops = append(l.ops, o)
	return &l.ops[len(l.ops)-1]
}

func (l *launch) mount(what, src, target, fstype string, flags uintptr, data string) *op {
	var s, t, d uintptr
	if src != "" {
		s = l.cstr(src)
	}
	if fstype != "" {
		t = l.cstr(fstype)
	}
	if data != "" {
		d = l.cstr(data)
	}
	return l.call(what, unix.SYS_MOUNT, s, l.cstr(target), t, flags, d)
}

// add compiles a step of a plan into the system calls that make it. The
// steps only the re-executed init makes (stepRoot's bind excepted) have
// none: runSteps makes them.
func (l *launch) add(st *step) {
	var o *op
	switch st.kind {
	case stepUnshare:
		o = l.call(st.what, unix.SYS_UNSHARE, uintptr(st.n))
	case stepSetns:
		o = l.call(st.what, unix.SYS_SETNS, uintptr(st.fd), uintptr(st.n))
	case stepSetsid:
		o = l.call(st.what, unix.SYS_SETSID)
	case stepDup:
		o = l.call(st.what, unix.SYS_DUP3, uintptr(st.fd), uintptr(st.n), 0)
	case stepConsole:
		l.console = newConsoleMsg()
		l.ops = append(l.ops, op{kind: opConsole, args: [6]uintptr{l.cstr("/dev/ptmx")}, msg: l.console, what: st.what})
		o = &l.ops[len(l.ops)-1]
	case stepPdeathsig:
		o = l.call(st.what, unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL))
	case stepParentAlive:
		// A launch's fork sets the pidfd; exec's step carries its own.
		l.ops = append(l.ops, op{kind: opParentAlive, args: [6]uintptr{uintptr(st.fd)}, what: st.what})
		l.alive = len(l.ops)
		o = &l.ops[len(l.ops)-1]
	case stepSignal:
		// A zeroed struct sigaction: SIG_DFL, no flags, no mask.
		o = l.call(st.what, unix.SYS_RT_SIGACTION, uintptr(st.n), uintptr(unsafe.Pointer(&defaultAction)), 0, 8)
	case stepJoin:
		l.ops = append(l.ops, op{kind: opJoin, args: [6]uintptr{l.cstr(st.path), uintptr(st.fd)}, what: st.what})
		o = &l.ops[len(l.ops)-1]
	case stepHostname:
		o = l.call(st.what, unix.SYS_SETHOSTNAME, l.cstr(st.path), uintptr(len(st.path)))
	case stepLoopback:
		l.ops = append(l.ops, op{kind: opLoopback, what: st.what})
		o = &l.ops[len(l.ops)-1]
	case stepMount, stepProc, stepRoot:
		src := st.src
		if st.self {
			src = st.path
		}
		o = l.mount(st.what, src, st.path, st.fstype, st.flags, st.data)
	case stepReadOnly:
		o = l.remountRO(st.what, st.path, st.flags, st.haveFlags, !st.flat)
	case stepWritable:
		o = l.remountRW(st.what, st.path, st.flags, st.haveFlags)
	case stepMknod:
		o = l.call(st.what, unix.SYS_MKNODAT, atFDCWD, l.cstr(st.path), unix.S_IFCHR|uintptr(st.mode.Perm()), uintptr(st.n))
	case stepChmod:
		o = l.call(st.what, unix.SYS_FCHMODAT, atFDCWD, l.cstr(st.path), uintptr(st.mode.Perm()), 0)
	case stepCreate:
		l.ops = append(l.ops, op{kind: opCreate, args: [6]uintptr{l.cstr(st.path), uintptr(st.mode.Perm())}, what: st.what})
		o = &l.ops[len(l.ops)-1]
	case stepTreeClone, stepTreeMove:
		k := opTreeClone
		if st.kind == stepTreeMove {
			k = opTreeMove
		}
		l.slots = append(l.slots, st.slot)
		l.ops = append(l.ops, op{kind: k, args: [6]uintptr{l.cstr(st.path)}, slot: st.slot, what: st.what})
		o = &l.ops[len(l.ops)-1]
	case stepSymlink:
		o = l.call(st.what, unix.SYS_SYMLINKAT, l.cstr(st.src), atFDCWD, l.cstr(st.path))
	case stepChdir:
		o = l.call(st.what, unix.SYS_CHDIR, l.cstr(st.path))
	case stepNofile:
		var lim unix.Rlimit
		_ = unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
		l.nofile = &unix.Rlimit{Cur: uint64(st.n), Max: lim.Max}
		o = l.call(st.what, unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, uintptr(unsafe.Pointer(l.nofile)), 0)
	case stepCapDrop:
		o = l.call(st.what, unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(st.n))
	case stepAmbientClear:
		o = l.call(st.what, unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL)
	case stepCapset:
		l.capHdr = &unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		l.capData = &[2]unix.CapUserData{
			{Effective: uint32(st.mask), Permitted: uint32(st.mask)},
			{Effective: uint32(st.mask >> 32), Permitted: uint32(st.mask >> 32)},
		}
		o = l.call(st.what, unix.SYS_CAPSET, uintptr(unsafe.Pointer(l.capHdr)), uintptr(unsafe.Pointer(l.capData)))
	case stepSetgroups:
		var list uintptr
		if len(st.gids) > 0 {
			// gid_t is 32 bits for setgroups and setgroups32 alike; the
			// launch keeps the list alive.
			l.gids = slices.Clone(st.gids)
			list = uintptr(unsafe.Pointer(&l.gids[0]))
		}
		o = l.call(st.what, sysSetgroups, uintptr(len(st.gids)), list)
	case stepSetgid:
		o = l.call(st.what, sysSetresgid, uintptr(st.n), uintptr(st.n), uintptr(st.n))
	case stepSetuid:
		o = l.call(st.what, sysSetresuid, uintptr(st.n), uintptr(st.n), uintptr(st.n))
	case stepNoNewPrivs:
		o = l.call(st.what, unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1)
	case stepSeccomp:
		// The fprog and the program it points to live as long as the
		// launch.
		prog := st.filter.prog
		l.fprog = &unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
		o = l.call(st.what, unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, st.filter.flags, uintptr(unsafe.Pointer(l.fprog)))
	case stepDevice:
		path := l.cstr(st.path)
		mk := l.call(st.what, unix.SYS_MKNODAT, atFDCWD, path, unix.S_IFREG|0o600, 0)
		mk.skip = unix.EEXIST
		o = l.call(st.what, unix.SYS_MOUNT, l.cstr(st.src), path, 0, unix.MS_BIND, 0)
	case stepMkdir:
		l.ops = append(l.ops, op{kind: opMkdir, what: st.what,
			args: [6]uintptr{l.cstr(st.path), uintptr(st.mode.Perm()), uintptr(st.n), uintptr(st.fd)}})
		o = &l.ops[len(l.ops)-1]
	default:
		return
	}
	o.skip = st.skip
}

// defaultAction is struct sigaction (any architecture's layout) for
// SIG_DFL.
var defaultAction [4]uint64

// remountRO makes the tree at target read-only with mount_setattr (Linux
// 5.12). On an older kernel it falls back, when haveFlags, to remounting
// the top mount with flags, those of the mount target will be, which the
// kernel may refuse to see cleared (see lockedFlags).
func (l *launch) remountRO(what, target string, flags uintptr, haveFlags, recursive bool) *op {
	if l.roAttr == nil {
		l.roAttr = &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	}
	var at uintptr
	if recursive {
		at = unix.AT_RECURSIVE
	}
	o := l.call(what, unix.SYS_MOUNT_SETATTR, atFDCWD, l.cstr(target), at,
		uintptr(unsafe.Pointer(l.roAttr)), unsafe.Sizeof(*l.roAttr))
	if haveFlags {
		alt := op{kind: opCall, trap: unix.SYS_MOUNT, what: what,
			args: [6]uintptr{0, l.cstr(target), 0, unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | flags}}
		l.alts = append(l.alts, alt)
		o.fallback = len(l.alts)
	}
	return o
}

// remountRW makes the tree at target writable again (clears the read-only
// flag with mount_setattr); on an older kernel, when haveFlags, it
// remounts the top mount with flags and without MS_RDONLY.
func (l *launch) remountRW(what, target string, flags uintptr, haveFlags bool) *op {
	if l.rwAttr == nil {
		l.rwAttr = &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}
	}
	o := l.call(what, unix.SYS_MOUNT_SETATTR, atFDCWD, l.cstr(target), unix.AT_RECURSIVE,
		uintptr(unsafe.Pointer(l.rwAttr)), unsafe.Sizeof(*l.rwAttr))
	if haveFlags {
		alt := op{kind: opCall, trap: unix.SYS_MOUNT, what: what,
			args: [6]uintptr{0, l.cstr(target), 0, unix.MS_BIND | unix.MS_REMOUNT | flags}}
		l.alts = append(l.alts, alt)
		o.fallback = len(l.alts)
	}
	return o
}

// childFailure is what the child writes to the parent before it exits: the
// failed op (or -1 for execve, with the path it tried) and the errno.
type childFailure struct {
	op    int32
	errno int32
	path  int32
}

const (
	failExec    = -1
	childFailSz = 12
	// exitSetupFailed is the child's exit status when it wrote a failure;
	// the parent reports the failure, not this.
	exitSetupFailed = ExitFailed
)

// An attempt is one start of a launch, shared by the goroutine that waits
// for it (wait) and the nest thread that forks the child (fork).
//
// The waiter is woken by the kernel itself once the child has executed
// the command or exited: the child is cloned with CLONE_CHILD_CLEARTID on
// done, which the kernel clears, with a futex wake, when the child's
// process image goes (execve's point of no return, or exit). With the
// child sharing ctop's memory that is the waiter's word. Waking the nest
// thread from vfork and then the waiter through the Go scheduler would
// cost a second wake-up, on a virtual machine some 0.15 ms.
type attempt struct {
	l *launch
	// report is the pipe over which the child reports a failure; the
	// waiter reads report[0] (non-blocking), the child writes report[1].
	report [2]int
	// done is 1 until the child's image is gone or the nest is done with
	// the attempt; the futex word.
	done uint32
	// pid is the child's, stored by clone3 (CLONE_PARENT_SETTID) before
	// the child runs; 0 when no child was made.
	pid int32
	// err is why no child was made, set by the nest before done.
	err error
}

func newAttempt(l *launch) (*attempt, error) {
	if len(l.argv) == 0 || l.argv[len(l.argv)-1] != nil || l.envv[len(l.envv)-1] != nil {
		return nil, errors.New("launch: argv and envv must end with nil")
	}
	a := &attempt{l: l, done: 1}
	if err := unix.Pipe2(a.report[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("launch: pipe: %w", err)
	}
	// The fds the child uses after it has set up fds 0, 1 and 2 must not
	// be among them (a ctop started with one of them closed gets it back
	// from pipe2).
	var err error
	if a.report[1], err = above2(a.report[1]); err == nil {
		err = unix.SetNonblock(a.report[0], true)
	}
	if err != nil {
		unix.Close(a.report[0])
		unix.Close(a.report[1])
		return nil, fmt.Errorf("launch: pipe: %w", err)
	}
	return a, nil
}

// fork forks the child, which sets itself up and executes the command. It
// must run on the OS thread that is to be the child's parent for the
// parent-death signal.
func (a *attempt) fork() {
	l := a.l
	if l.alive > 0 {
		// Without a pidfd (Linux before 5.3) the step polls fd -1,
		// which poll(2) ignores.
		fd := ^uintptr(0)
		self, err := unix.PidfdOpen(os.Getpid(), 0)
		if err == nil {
			self, err = above2(self)
		}
		if err == nil {
			defer unix.Close(self)
			fd = uintptr(self)
		}
		l.ops[l.alive-1].args[0] = fd
	}
	args := &cloneArgs{
		flags:      l.flags | vforkFlags | unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID,
		exitSignal: uint64(unix.SIGCHLD),
		parentTID:  uint64(uintptr(unsafe.Pointer(&a.pid))),
		childTID:   uint64(uintptr(unsafe.Pointer(&a.done))),
	}
	if l.cgroupFD >= 0 {
		args.flags |= unix.CLONE_INTO_CGROUP
		args.cgroup = uint64(l.cgroupFD)
	}
	// No new fd may be made without close-on-exec while the child is
	// forked (the standard library's rule, syscall.ForkLock).
	syscall.ForkLock.Lock()
	runtimeBeforeFork()
	_, errno := l.fork(args, a.report[1])
	runtimeAfterFork()
	syscall.ForkLock.Unlock()
	unix.Close(a.report[1])
	runtime.KeepAlive(args)
	if errno != 0 {
		a.err = os.NewSyscallError("clone3", errno)
	} else if vforkFlags == 0 {
		// A copy of ctop's memory (no trampoline here): the kernel
		// clears the child's done, not ours, and the clone returned
		// before the execve. The report pipe says when that is over:
		// readable with a failure, or hung up once execve closed it.
		pfd := []unix.PollFd{{Fd: int32(a.report[0]), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(pfd, -1); err != unix.EINTR {
				break
			}
		}
	}
	a.finish()
}

// giveUp ends an attempt the nest makes no child for.
func (a *attempt) giveUp(err error) {
	unix.Close(a.report[1])
	a.err = err
	a.finish()
}

// finish ends the attempt for the waiter.
func (a *attempt) finish() {
	atomic.StoreUint32(&a.done, 0)
	futex(&a.done, futexWake, 1)
}

// wait waits for the attempt and returns the child's pid once it is
// executing the command.
func (a *attempt) wait() (int, error) {
	defer unix.Close(a.report[0])
	for atomic.LoadUint32(&a.done) != 0 {
		// Returns at once (EAGAIN) when done is no longer 1, and on a
		// signal (EINTR); either way the loop looks again.
		futex(&a.done, futexWait, 1)
	}
	pid := int(atomic.LoadInt32(&a.pid))
	if pid == 0 {
		return 0, a.err
	}
	// The child writes a failure in one write before it exits; an empty
	// pipe (EAGAIN while the nest still holds its end, EOF after) means
	// execve succeeded.
	var buf [childFailSz]byte
	n, err := unix.Read(a.report[0], buf[:])
	if err == unix.EAGAIN || n == 0 && err == nil {
		return pid, nil
	}
	// The child failed and exits; reap it.
	var ws unix.WaitStatus
	for {
		if _, werr := unix.Wait4(pid, &ws, 0, nil); werr != unix.EINTR {
			break
		}
	}
	if err != nil || n != childFailSz {
		return 0, fmt.Errorf("sandbox init: short report from the child (%d bytes): %v", n, err)
	}
	f := childFailure{
		op:    int32(binary.NativeEndian.Uint32(buf[0:])),
		errno: int32(binary.NativeEndian.Uint32(buf[4:])),
		path:  int32(binary.NativeEndian.Uint32(buf[8:])),
	}
	return 0, a.l.failure(f)
}

// futex(2) operations (linux/futex.h).
const (
	futexWait = 0
	futexWake = 1
)

// futex makes a futex(2) call on addr, shared (not FUTEX_PRIVATE_FLAG) as
// the kernel's wake for CLONE_CHILD_CLEARTID is.
func futex(addr *uint32, op, val int) {
	_, _, _ = unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), uintptr(op), uintptr(val), 0, 0, 0)
}

// above2 returns fd, or a close-on-exec copy of it above 2 (closing fd).
func above2(fd int) (int, error) {
	if fd > 2 {
		return fd, nil
	}
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	unix.Close(fd)
	return nfd, err
}

// failure turns the child's report into the error ctop prints.
func (l *launch) failure(f childFailure) error {
	errno := syscall.Errno(f.errno)
	if f.op != failExec {
		if f.op < 0 || int(f.op) >= len(l.ops) {
			return fmt.Errorf("sandbox init: step %d failed: %w", f.op, errno)
		}
		return &StartError{Code: ExitFailed, Err: fmt.Errorf("%s: %w", l.ops[f.op].what, errno)}
	}
	return execFailure(l.name, l.pathNames, int(f.path), errno)
}

// execFailure maps the execve that failed to docker's exit code and a
// message like a shell's: ExitNotFound when nothing was found,
// ExitCannotExec when a file was found but cannot be executed.
func execFailure(name string, paths []string, i int, errno syscall.Errno) error {
	path := name
	if i >= 0 && i < len(paths) {
		path = paths[i]
	}
	switch {
	case errno == unix.ENOENT || errno == unix.ENOTDIR:
		if strings.Contains(name, "/") {
			return &StartError{Code: ExitNotFound, Err: fmt.Errorf("%s: no such file or directory", name)}
		}
		return &StartError{Code: ExitNotFound, Err: fmt.Errorf("%s: executable file not found in $PATH", name)}
	case errno == unix.EACCES:
		if st, err := os.Stat(path); err == nil && st.IsDir() {
			return &StartError{Code: ExitCannotExec, Err: fmt.Errorf("%s is a directory", path)}
		}
		return &StartError{Code: ExitCannotExec, Err: fmt.Errorf("%s: permission denied", path)}
	}
	return &StartError{Code: ExitCannotExec, Err: fmt.Errorf("exec %s: %w", path, errno)}
}

// zeroTimespec is a poll timeout of zero: do not wait.
var zeroTimespec unix.Timespec

// atFDCWD is AT_FDCWD (-100) as a system call argument.
const atFDCWD = ^uintptr(99)

// cloneArgs is struct clone_args (linux/sched.h), version 2 (Linux 5.7).
type cloneArgs struct {
	flags      uint64
	pidfd      uint64
	childTID   uint64
	parentTID  uint64
	exitSignal uint64
	stack      uint64
	stackSize  uint64
	tls        uint64
	setTID     uint64
	setTIDSize uint64
	cgroup     uint64
}

// fork clones the child. In the parent it returns the child's pid; in the
// child it sets up and executes the command, or reports why not and exits.
//
//go:nosplit
//go:norace
func (l *launch) fork(args *cloneArgs, report int) (int, syscall.Errno) {
	// With no stack given the child runs on this one: shared with the
	// suspended parent under vforkFlags (so the child never returns from
	// this function), or a copy of it.
	pid, errno := rawVfork(unix.SYS_CLONE3, uintptr(unsafe.Pointer(args)), unsafe.Sizeof(*args), 0)
	if errno != 0 || pid != 0 {
		return int(pid), errno
	}
	runtimeAfterForkInChild()
	l.child(report)
	return 0, 0 // not reached
}

//go:nosplit
//go:norace
func (l *launch) child(report int) {
	if i, e := l.run(); e != 0 {
		childFail(report, i, e, 0)
	}
	// execvp's search: a file that exists but cannot be executed is
	// reported only if no later candidate runs.
	denied, last := -1, syscall.Errno(unix.ENOENT)
	for i := 0; i < len(l.paths); i++ {
		_, _, e := syscall.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(l.paths[i])),
			uintptr(unsafe.Pointer(&l.argv[0])), uintptr(unsafe.Pointer(&l.envv[0])))
		switch e {
		case unix.ENOENT, unix.ENOTDIR:
		case unix.EACCES:
			if denied < 0 {
				denied = i
			}
		default:
			childFail(report, failExec, e, i)
		}
		last = e
	}
	if denied >= 0 {
		childFail(report, failExec, unix.EACCES, denied)
	}
	childFail(report, failExec, last, -1)
}

// run makes the steps in order. It returns the index and errno of the
// first that failed (a skip errno and a fallback's success are not
// failures), or errno 0.
//
//go:nosplit
//go:norace
func (l *launch) run() (int, syscall.Errno) {
	for i := 0; i < len(l.ops); i++ {
		o := &l.ops[i]
		e := o.run()
		if e == 0 || e == o.skip {
			continue
		}
		if e == unix.ENOSYS && o.fallback > 0 {
			if e = l.alts[o.fallback-1].run(); e == 0 {
				continue
			}
		}
		return i, e
	}
	return -1, 0
}

// run makes the op's system calls and returns the errno.
//
//go:nosplit
//go:norace
func (o *op) run() syscall.Errno {
	switch o.kind {
	case opJoin:
		zero := [1]byte{'0'}
		if o.args[1] != 0 {
			_, _, e := syscall.RawSyscall(unix.SYS_WRITE, o.args[1], uintptr(unsafe.Pointer(&zero[0])), 1)
			return e
		}
		fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, atFDCWD, o.args[0], unix.O_WRONLY|unix.O_CLOEXEC, 0, 0, 0)
		if e != 0 {
			return e
		}
		_, _, e = syscall.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&zero[0])), 1)
		syscall.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
		return e
	case opTreeClone:
		fd, _, e := syscall.RawSyscall(unix.SYS_OPEN_TREE, atFDCWD, o.args[0], unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
		if e == 0 {
			*o.slot = int32(fd)
		}
		return e
	case opTreeMove:
		fd := *o.slot
		if fd < 0 {
			// No copy: open_tree is missing (Linux before 5.2).
			return unix.ENOSYS
		}
		empty := [1]byte{}
		_, _, e := syscall.RawSyscall6(unix.SYS_MOVE_MOUNT, uintptr(fd), uintptr(unsafe.Pointer(&empty[0])), atFDCWD, o.args[0], unix.MOVE_MOUNT_F_EMPTY_PATH, 0)
		syscall.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
		*o.slot = -1
		return e
	case opConsole:
		return o.msg.open(o.args[0])
	case opCreate:
		// mknod, not open: what is there already (a device node a
		// --device is bound over) is a mount point as it is, and opening
		// it could be refused by the devices cgroup.
		_, _, e := syscall.RawSyscall6(unix.SYS_MKNODAT, atFDCWD, o.args[0], unix.S_IFREG|o.args[1], 0, 0, 0)
		if e == unix.EEXIST {
			e = 0
		}
		return e
	case opLoopback:
		fd, _, e := syscall.RawSyscall(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if e != 0 {
			return e
		}
		// struct ifreq: the name, then (a union) the flags.
		var ifr [40]byte
		ifr[0], ifr[1] = 'l', 'o'
		_, _, e = syscall.RawSyscall(unix.SYS_IOCTL, fd, unix.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&ifr[0])))
		if e == 0 {
			*(*uint16)(unsafe.Pointer(&ifr[unix.IFNAMSIZ])) |= unix.IFF_UP
			_, _, e = syscall.RawSyscall(unix.SYS_IOCTL, fd, unix.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr[0])))
		}
		syscall.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
		return e
	case opMkdir:
		_, _, e := syscall.RawSyscall(unix.SYS_MKDIRAT, atFDCWD, o.args[0], o.args[1])
		if e == unix.EEXIST {
			return 0
		}
		if e == 0 && o.args[2] != 0 {
			_, _, e = syscall.RawSyscall6(unix.SYS_FCHOWNAT, atFDCWD, o.args[0], o.args[2]-1, o.args[3]-1, unix.AT_SYMLINK_NOFOLLOW, 0)
		}
		return e
	case opParentAlive:
		// struct pollfd: fd, events (POLLIN, set once the process has
		// exited), revents.
		var pfd [8]byte
		*(*int32)(unsafe.Pointer(&pfd[0])) = int32(o.args[0])
		*(*int16)(unsafe.Pointer(&pfd[4])) = unix.POLLIN
		n, _, e := syscall.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd[0])), 1, uintptr(unsafe.Pointer(&zeroTimespec)), 0, 0, 0)
		if e == 0 && n > 0 {
			e = unix.ESRCH
		}
		return e
	}
	_, _, e := syscall.RawSyscall6(o.trap, o.args[0], o.args[1], o.args[2], o.args[3], o.args[4], o.args[5])
	return e
}

// childFail reports a failure to the parent and exits.
//
//go:nosplit
//go:norace
func childFail(report, op int, errno syscall.Errno, path int) {
	var b [childFailSz]byte
	put32(&b, 0, uint32(int32(op)))
	put32(&b, 4, uint32(errno))
	put32(&b, 8, uint32(int32(path)))
	syscall.RawSyscall(unix.SYS_WRITE, uintptr(report), uintptr(unsafe.Pointer(&b[0])), childFailSz)
	for {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, exitSetupFailed, 0, 0)
	}
}

// put32 writes v at b[i:] in the machine's byte order (binary.NativeEndian
// is not nosplit).
//
//go:nosplit
//go:norace
func put32(b *[childFailSz]byte, i int, v uint32) {
	*(*uint32)(unsafe.Pointer(&b[i])) = v
}
