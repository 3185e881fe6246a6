package nsinfo

import (
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// scratch is one worker's reusable memory, so that reading a process
// allocates little: a read buffer, a path buffer, and intern tables for
// the cgroup lines that thousands of processes share.
type scratch struct {
	buf   []byte
	path  []byte // NUL-terminated, for the kernel
	nsDev uint64 // the nsfs device, see nsfsDev
	// lineOnly keeps a command line as Cmdline alone, without Args (see
	// Tracker).
	lineOnly bool
	intern
}

func newScratch(nsDev uint64) *scratch {
	return &scratch{buf: make([]byte, 8192), path: make([]byte, 0, 64), nsDev: nsDev}
}

// at sets the path buffer to proc/pid/name.
func (s *scratch) at(proc string, pid int, name string) {
	s.path = appendProcPath(s.path[:0], proc, pid, name)
}

// appendProcPath appends proc/pid/name and a NUL to b.
func appendProcPath(b []byte, proc string, pid int, name string) []byte {
	b = append(b, proc...)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, '/')
	b = append(b, name...)
	return append(b, 0)
}

// pathString returns the path buffer as a string, for errors.
func (s *scratch) pathString() string { return string(s.path[:len(s.path)-1]) }

// procPath returns proc/pid/name.
func (s *scratch) procPath(proc string, pid int, name string) string {
	s.at(proc, pid, name)
	return s.pathString()
}

// readFile reads the whole file at path into s.buf and returns the bytes
// read, valid until the next call.
func (s *scratch) readFile(path string) ([]byte, error) {
	s.path = append(append(s.path[:0], path...), 0)
	return s.read()
}

// read reads the whole file named by the path buffer into s.buf. It uses
// raw system calls on the NUL-terminated buffer: os.File (and even
// syscall.Open, which copies the path) would add allocations, a finalizer
// and a poller check per file, which shows at thousands of files per
// refresh.
// NOTE: proc files ignore the size stat(2) reports (it is 0), so the buffer
// grows until a read comes back short; seq_file-backed files such as stat,
// status and cgroup return everything that fits in one read.
func (s *scratch) read() ([]byte, error) {
	fd, err := openat(unix.AT_FDCWD, &s.path[0], unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	n := 0
	for {
		if n == len(s.buf) {
			s.buf = append(s.buf, make([]byte, len(s.buf))...)
		}
		m, err := syscall.Read(fd, s.buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		n += m
		if m == 0 || n < len(s.buf) {
			return s.buf[:n], nil
		}
	}
}

// openat opens the NUL-terminated path relative to dirfd.
func openat(dirfd int, path *byte, flags int) (int, error) {
	for {
		fd, _, e := syscall.Syscall6(syscall.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(path)), uintptr(flags), 0, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(fd), nil
	}
}

// readlinkat reads the link at the NUL-terminated name relative to dirfd.
func readlinkat(dirfd int, name *byte, buf []byte) (int, error) {
	n, _, e := syscall.Syscall6(syscall.SYS_READLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(name)), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// errKind sorts the errors of reading a proc file.
type errKind int

const (
	errOther  errKind = iota
	errGone           // the process exited (or is a zombie, for some files)
	errDenied         // the caller may not read it
)

func kindOf(err error) errKind {
	switch {
	case err == nil:
		return errOther
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ESRCH):
		return errGone
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return errDenied
	}
	return errOther
}

// linkName returns the NUL-terminated name of t's link in /proc/PID/ns.
func linkName(i int) *byte {
	const names = "mnt\x00net\x00pid\x00uts\x00ipc\x00user\x00cgroup\x00time\x00"
	offsets := [numTypes]int{0, 4, 8, 12, 16, 20, 25, 32}
	return unsafe.StringData(names[offsets[i]:])
}

// readNSSet reads the namespace links of the /proc/PID/ns directory named
// by the path buffer into ns, with one readlinkat(2) per link relative to
// the directory. That is cheaper than a path walk from / for each, and than
// the stat(2) that lsns and ps use: stat makes nsfs find or build the
// namespace's dentry, while readlink only formats "TYPE:[INODE]". Fixture
// trees store the links as plain symlinks to that text, so they read the
// same way.
//
// The device of every ID is s.nsDev: the kernel keeps all namespaces on
// its one internal nsfs mount, so every link has the same device (see
// nsfsDev), and the (device, inode) identity of namespaces(7) needs no stat
// per link.
//
// It returns gone when the directory or every link does not exist (the
// process exited, or is a zombie), and the first unexpected error.
func (s *scratch) readNSSet(ns *NSSet) (gone bool, err error) {
	dfd, err := openat(unix.AT_FDCWD, &s.path[0], unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		switch kindOf(err) {
		case errGone:
			return true, nil
		case errDenied:
			return false, nil
		}
		return false, fmt.Errorf("open %s: %w", s.pathString(), err)
	}
	defer syscall.Close(dfd)
	var b [64]byte
	gone = true
	for i, t := range Types() {
		n, err := readlinkat(dfd, linkName(i), b[:])
		switch {
		case err == nil:
		case kindOf(err) == errGone:
			// exited, a zombie, or a type this kernel lacks (time < 5.6)
			continue
		case kindOf(err) == errDenied:
			gone = false
			continue
		default:
			return false, fmt.Errorf("read link %s/%s: %w", s.pathString(), t, err)
		}
		gone = false
		ino, err := parseNSLink(b[:n], t)
		if err != nil {
			return false, fmt.Errorf("read link %s/%s: %w", s.pathString(), t, err)
		}
		ns[i] = ID{Dev: s.nsDev, Ino: ino}
	}
	return gone, nil
}

// nsfsDev returns the device of the nsfs filesystem that holds every
// namespace, from one stat(2) of the reading process's own mnt link under
// proc, or 0 when that cannot be followed (a fixture tree, whose links
// dangle).
// NOTE: fs/nsfs.c mounts nsfs once, internally (nsfs_mnt); all namespace
// inodes share its superblock and so its device.
func nsfsDev(proc string) uint64 {
	var st unix.Stat_t
	if err := unix.Stat(proc+"/self/ns/mnt", &st); err != nil {
		return 0
	}
	return st.Dev
}

// parseNSLink parses the target text of a namespace link, "TYPE:[INODE]".
func parseNSLink(b []byte, t Type) (uint64, error) {
	p := len(t)
	if len(b) < p+4 || string(b[:p]) != string(t) || b[p] != ':' || b[p+1] != '[' || b[len(b)-1] != ']' {
		return 0, fmt.Errorf("%w: %q is not %s:[INODE]", ErrParse, b, t)
	}
	var ino uint64
	for _, c := range b[p+2 : len(b)-1] {
		if c < '0' || c > '9' || ino > (1<<64-1)/10-1 {
			return 0, fmt.Errorf("%w: inode in %q", ErrParse, b)
		}
		ino = ino*10 + uint64(c-'0')
	}
	if ino == 0 {
		return 0, fmt.Errorf("%w: inode in %q", ErrParse, b)
	}
	return ino, nil
}

// exists reports whether path exists, with one stat(2).
func (s *scratch) exists(path string) (bool, error) {
	var st syscall.Stat_t
	err := syscall.Stat(path, &st)
	if err == nil {
		return true, nil
	}
	if kindOf(err) == errGone {
		return false, nil
	}
	return false, fmt.Errorf("stat %s: %w", path, err)
}
