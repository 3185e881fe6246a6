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

// read returns the text of pid's stat, valid until the next call, or
// false when the process is gone.
func (s *statFiles) read(pid int) ([]byte, bool) {
	if fd, ok := s.fds[pid]; ok {
		if n, err := unix.Pread(fd, s.buf[:], 0); err == nil && n > 0 {
			return s.buf[:n], true
		}
		unix.Close(fd)
		delete(s.fds, pid)
	}
	p := append(s.path[:0], s.proc...)
	p = append(p, '/')
	p = strconv.AppendInt(p, int64(pid), 10)
	p = append(p, "/stat\x00"...)
	s.path = p
	fd, err := openat(unix.AT_FDCWD, &p[0], unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, false
	}
	n, err := unix.Read(fd, s.buf[:])
	if err != nil || n <= 0 || len(s.fds) >= s.max {
		unix.Close(fd)
		return s.buf[:max(n, 0)], err == nil && n > 0
	}
	s.fds[pid] = fd
	return s.buf[:n], true
}

// keep closes the descriptors of processes not in alive (all, for nil).
func (s *statFiles) keep(alive map[int]bool) {
	for pid, fd := range s.fds {
		if !alive[pid] {
			unix.Close(fd)
			delete(s.fds, pid)
		}
	}
}

// pidLister lists the numeric entries of the proc mount with getdents(2)
// on a descriptor kept open and rewound, into a reused buffer: listing
// /proc through os.ReadDir would allocate a string per process per sample.
type pidLister struct {
	proc    string
	fd      int // 0: not open yet
	buf     []byte
	loadavg int // descriptor of proc/loadavg; -1 where there is none
	last    [32]byte
	lastN   int
}

// changed reports whether a pid may have been handed out since the last
// call: the last field of /proc/loadavg is the pid the kernel allocated
// last in the reader's pid namespace (proc(5)), and every new process (or
// thread) allocates one there, even one in a nested pid namespace. Listing
// /proc costs the kernel a lookup per process, a tenth of a sample; where
// loadavg cannot be read (a fixture tree), every call says yes.
func (l *pidLister) changed() bool {
	if l.loadavg == 0 {
		l.loadavg = -1
		if fd, err := unix.Open(l.proc+"/loadavg", unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
			l.loadavg = fd
		}
	}
	if l.loadavg < 0 {
		return true
	}
	var b [128]byte
	n, err := unix.Pread(l.loadavg, b[:], 0)
	if err != nil || n <= 0 {
		return true
	}
	f := b[:n]
	for len(f) > 0 && (f[len(f)-1] == '\n' || f[len(f)-1] == ' ') {
		f = f[:len(f)-1]
	}
	if i := bytes.LastIndexByte(f, ' '); i >= 0 {
		f = f[i+1:]
	}
	if len(f) == 0 || len(f) > len(l.last) || l.fd == 0 {
		l.lastN = copy(l.last[:], f)
		return true
	}
	same := string(f) == string(l.last[:l.lastN])
	l.lastN = copy(l.last[:], f)
	return !same
}

// list appends the pids to dst, in the order the kernel lists them
// (ascending for /proc).
func (l *pidLister) list(dst []int) ([]int, error) {
	if l.fd == 0 {
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
	if l.fd != 0 {
		unix.Close(l.fd)
		l.fd = 0
	}
	if l.loadavg > 0 {
		unix.Close(l.loadavg)
	}
	l.loadavg = 0
}
