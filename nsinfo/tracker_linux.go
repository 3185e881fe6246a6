package nsinfo

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

var pageSize = uint64(os.Getpagesize())

// statFiles reads /proc/PID/stat through descriptors kept open between
// samples: a pread from offset 0 makes the kernel format the file anew, so
// a sample costs one system call per process instead of three. When the
// process has exited the read fails (ESRCH) and the descriptor is dropped;
// a new process that reuses the pid gets a fresh one.
type statFiles struct {
	proc string
	buf  [4096]byte // stat is one line, well under a page
	fds  map[int]int
	max  int // descriptors kept at most, a share of RLIMIT_NOFILE
	path []byte
}

func newStatFiles(proc string) *statFiles {
	s := &statFiles{proc: proc, fds: map[int]int{}, max: 256}
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
		// Go raises the soft limit to the hard one at start; a quarter of
		// it leaves the rest of the program plenty.
		s.max = int(min(rl.Cur/4, 1<<15))
	}
	return s
}

// statResult says what reading a process's stat found.
type statResult int

const (
	statOK     statResult = iota
	statGone              // the process has exited
	statFailed            // not read this time (out of descriptors, say): keep the process
)

// read returns the text of pid's stat, valid until the next call.
func (s *statFiles) read(pid int) ([]byte, statResult) {
	if fd, ok := s.fds[pid]; ok {
		if n, err := preadRaw(fd, s.buf[:]); err == nil && n > 0 {
			return s.buf[:n], statOK
		}
		unix.Close(fd)
		delete(s.fds, pid)
	}
	s.path = appendProcPath(s.path[:0], s.proc, pid, "stat")
	fd, err := openat(unix.AT_FDCWD, &s.path[0], unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		if kindOf(err) == errGone {
			return nil, statGone
		}
		return nil, statFailed
	}
	n, err := unix.Read(fd, s.buf[:])
	if err != nil || n <= 0 || len(s.fds) >= s.max {
		unix.Close(fd)
		switch {
		case err == nil && n > 0:
			return s.buf[:n], statOK
		case err == nil || kindOf(err) == errGone:
			return nil, statGone
		}
		return nil, statFailed
	}
	s.fds[pid] = fd
	return s.buf[:n], statOK
}

// keep closes the descriptors of processes for which alive is false.
func (s *statFiles) keep(alive func(pid int) bool) {
	for pid, fd := range s.fds {
		if !alive(pid) {
			unix.Close(fd)
			delete(s.fds, pid)
		}
	}
}

// pidLister lists the numeric entries of the proc mount with getdents(2)
// on a descriptor kept open and rewound, into a reused buffer: listing
// /proc through os.ReadDir would allocate a string per process per sample.
// Between listings it tells which pids were handed out (handedOut).
type pidLister struct {
	proc string
	fd   int // -1: not open yet
	buf  []byte
	// loadavg is the descriptor of proc/loadavg, -1 before the first
	// call, or noLoadavg where it cannot stand for the proc mount.
	loadavg int
	// last is the last pid handed out as of the last call, 0 when unknown;
	// from, when not 0, is the lowest pid the next call reports again.
	last, from int
	again      bool // list at the next call too
}

const noLoadavg = -2

// maxProbe is the most pids handed out since the last sample that the
// Tracker looks up one by one (a stat each, mostly of threads) rather than
// list the whole mount (a lookup per process, 2,000 at the reference load).
const maxProbe = 256

func newPIDLister(proc string) *pidLister {
	return &pidLister{proc: proc, fd: -1, loadavg: -1}
}

// handedOut returns the pids lo..hi handed out since the last call (none
// when lo > hi), or list true when they cannot be told and the mount must
// be listed. The last field of /proc/loadavg is the pid the kernel
// allocated last in the reader's pid namespace (proc(5)); every new
// process or thread allocates one there, even one in a nested pid
// namespace, and pids are handed out in increasing order (pid_max wraps
// them round). Looking up a few new pids costs less than listing /proc,
// a lookup per process.
//
// A new process shows in /proc a moment after its pid is handed out (the
// rest of fork runs in between), so the next call reports the same pids
// again. Where loadavg cannot stand for the proc mount, every call says to
// list: a fixture tree without it, a proc mount of another pid namespace
// than the reader's (its /proc/self is not the reader's pid), or a
// loadavg that is not procfs's own (lxcfs replaces it in containers). So
// does a wrap, or more than maxProbe pids.
//
// Pids chosen by the caller of clone3 (set_tid, as CRIU does) do not move
// the last pid; the Tracker lists every RefreshEvery samples for them.
func (l *pidLister) handedOut() (lo, hi int, list bool) {
	if l.loadavg == -1 {
		l.loadavg = openLoadavg(l.proc)
	}
	cur, ok := l.lastPID()
	if !ok {
		return 0, -1, true
	}
	prev, from, again := l.last, l.from, l.again
	l.last, l.from, l.again = cur, 0, false
	if cur != prev {
		l.from = prev + 1
	}
	lo, hi = prev+1, cur
	if from != 0 {
		lo = from
	}
	switch {
	case prev == 0 || again:
		// Unknown before, or listed last time for want of a range.
		l.again = cur != prev
		return 0, -1, true
	case lo > hi && cur == prev:
		return lo, hi, false // nothing new
	case lo > hi || hi-lo >= maxProbe:
		l.again = true
		return 0, -1, true
	}
	return lo, hi, false
}

// lastPID reads the last field of proc/loadavg.
func (l *pidLister) lastPID() (int, bool) {
	if l.loadavg == noLoadavg {
		return 0, false
	}
	var b [128]byte
	n, err := unix.Pread(l.loadavg, b[:], 0)
	if err != nil || n <= 0 {
		return 0, false
	}
	f := bytes.TrimRight(b[:n], "\n ")
	if i := bytes.LastIndexByte(f, ' '); i >= 0 {
		f = f[i+1:]
	}
	if len(f) == 0 || len(f) > 10 {
		return 0, false
	}
	pid := 0
	for _, c := range f {
		if c < '0' || c > '9' {
			return 0, false
		}
		pid = pid*10 + int(c-'0')
	}
	return pid, pid > 0
}

// forget makes the next call to handedOut say to list.
func (l *pidLister) forget() { l.last, l.from = 0, 0 }

// openLoadavg opens proc/loadavg if its last pid speaks for the proc
// mount's processes, else returns noLoadavg.
func openLoadavg(proc string) int {
	var st unix.Statfs_t
	if err := unix.Statfs(proc+"/loadavg", &st); err != nil || st.Type != unix.PROC_SUPER_MAGIC {
		return noLoadavg
	}
	self, err := os.Readlink(proc + "/self")
	if err != nil || self != strconv.Itoa(os.Getpid()) {
		return noLoadavg
	}
	fd, err := unix.Open(proc+"/loadavg", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return noLoadavg
	}
	return fd
}

// list appends the pids to dst, in the order the kernel lists them
// (ascending for /proc).
func (l *pidLister) list(dst []int) ([]int, error) {
	if l.fd < 0 {
		fd, err := unix.Open(l.proc, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("list processes in %s: %w", l.proc, err)
		}
		l.fd, l.buf = fd, make([]byte, 32<<10)
	} else if _, err := unix.Seek(l.fd, 0, 0); err != nil {
		return nil, fmt.Errorf("list processes in %s: %w", l.proc, err)
	}
	for {
		n, err := unix.Getdents(l.fd, l.buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list processes in %s: %w", l.proc, err)
		}
		if n <= 0 {
			return dst, nil
		}
		for b := l.buf[:n]; len(b) > 0; {
			// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name
			reclen := int(*(*uint16)(unsafe.Pointer(&b[16])))
			name := b[19:reclen]
			pid := 0
			for _, c := range name {
				if c == 0 {
					break
				}
				if c < '0' || c > '9' {
					pid = -1
					break
				}
				pid = pid*10 + int(c-'0')
			}
			if pid > 0 {
				dst = append(dst, pid)
			}
			b = b[reclen:]
		}
	}
}

func (l *pidLister) close() {
	if l.fd >= 0 {
		unix.Close(l.fd)
		l.fd = -1
	}
	if l.loadavg >= 0 {
		unix.Close(l.loadavg)
	}
	l.loadavg = -1
}

// preadRaw reads fd from offset 0 without telling the scheduler that the
// goroutine enters a system call (syscall.RawSyscall6). Formatting a proc
// stat file is microseconds of kernel work that does not sleep, but as a
// blocking call each of thousands per sample let the runtime's monitor
// take the only P away, start another thread for it, and poll every 20 µs
// while it went on: at the reference load that was about a tenth of the
// TUI's CPU time in the Processes view. Files whose reading can wait on a
// lock (cgroup, status, cmdline) keep the ordinary calls.
func preadRaw(fd int, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_PREAD64, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
