package nsinfo

import (
	"errors"
	"fmt"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// scratch is one worker's reusable memory: a read buffer and a path buffer,
// so that reading a process allocates little.
type scratch struct {
	buf   []byte
	path  []byte
	nsDev uint64 // the nsfs device, see nsfsDev
}

func newScratch(nsDev uint64) *scratch {
	return &scratch{buf: make([]byte, 8192), path: make([]byte, 0, 64), nsDev: nsDev}
}

// procPath returns fs.proc + "/" + pid + "/" + name.
func (s *scratch) procPath(proc string, pid int, name string) string {
	p := append(s.path[:0], proc...)
	p = append(p, '/')
	p = strconv.AppendInt(p, int64(pid), 10)
	p = append(p, '/')
	p = append(p, name...)
	s.path = p
	return string(p)
}

// readFile reads the whole file at path into s.buf and returns the bytes
// read, valid until the next call. It uses raw system calls: os.File would
// add an allocation, a finalizer and a poller check per file, which shows
// at thousands of files per refresh.
// NOTE: proc files ignore the size stat(2) reports (it is 0), so the buffer
// grows until a read comes back short; seq_file-backed files such as stat,
// status and cgroup return everything that fits in one read.
func (s *scratch) readFile(path string) ([]byte, error) {
	fd, err := openRetry(path)
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

func openRetry(path string) (int, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
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
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ESRCH):
		return errGone
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return errDenied
	}
	return errOther
}

// readNSSet reads the namespace links in dir (a /proc/PID/ns directory)
// into ns, with one readlinkat(2) per link relative to the directory
// (cheaper than a path walk from / for each, and than stat(2), which lsns
// and ps use: stat makes nsfs find or build the namespace's dentry, while
// readlink only formats "TYPE:[INODE]"). Fixture trees store the links as
// plain symlinks to that text, so they read the same way.
//
// The device of every ID is dev: the kernel keeps all namespaces on its one
// internal nsfs mount, so every link has the same device (see nsfsDev), and
// the (device, inode) identity of namespaces(7) needs no stat per link.
//
// It returns gone when the directory or every link does not exist (the
// process exited, or is a zombie), and the first unexpected error.
func (s *scratch) readNSSet(dir string, dev uint64, ns *NSSet) (gone bool, err error) {
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	for err == unix.EINTR {
		dfd, err = unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		switch kindOf(err) {
		case errGone:
			return true, nil
		case errDenied:
			return false, nil
		}
		return false, fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(dfd)
	var b [64]byte
	gone = true
	for i, t := range Types() {
		n, err := unix.Readlinkat(dfd, string(t), b[:])
		switch {
		case err == nil:
		case kindOf(err) == errGone:
			// exited, a zombie, or a type this kernel lacks (time < 5.6)
			continue
		case kindOf(err) == errDenied:
			gone = false
			continue
		default:
			return false, fmt.Errorf("read link %s/%s: %w", dir, t, err)
		}
		gone = false
		ino, err := parseNSLink(string(b[:n]), t)
		if err != nil {
			return false, fmt.Errorf("read link %s/%s: %w", dir, t, err)
		}
		ns[i] = ID{Dev: dev, Ino: ino}
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
func parseNSLink(s string, t Type) (uint64, error) {
	prefix := string(t) + ":["
	if len(s) < len(prefix)+2 || s[:len(prefix)] != prefix || s[len(s)-1] != ']' {
		return 0, fmt.Errorf("%w: %q is not %s:[INODE]", ErrParse, s, t)
	}
	ino, err := strconv.ParseUint(s[len(prefix):len(s)-1], 10, 64)
	if err != nil || ino == 0 {
		return 0, fmt.Errorf("%w: inode in %q", ErrParse, s)
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
