package nsinfo

import (
	"errors"
	"fmt"
	"strconv"
	"syscall"
)

// scratch is one worker's reusable memory: a read buffer and a path buffer,
// so that reading a process allocates little.
type scratch struct {
	buf  []byte
	path []byte
}

func newScratch() *scratch {
	return &scratch{buf: make([]byte, 8192), path: make([]byte, 0, 64)}
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

// readNS returns the ID of the namespace behind the link at path (one of
// /proc/PID/ns/*). It costs one stat(2), which follows the link to the nsfs
// inode and so yields device and inode at once. When the link cannot be
// followed because it dangles (fixture trees store them as symlinks to text
// such as "pid:[4026531836]"), it falls back to readlink(2) and parses the
// inode from the text, with device 0.
func readNS(path string, t Type) (ID, error) {
	var st syscall.Stat_t
	err := syscall.Stat(path, &st)
	if err == nil {
		return ID{Dev: st.Dev, Ino: st.Ino}, nil
	}
	if err != syscall.ENOENT {
		return ID{}, err
	}
	var b [64]byte
	n, lerr := syscall.Readlink(path, b[:])
	if lerr != nil {
		return ID{}, err
	}
	ino, perr := parseNSLink(string(b[:n]), t)
	if perr != nil {
		return ID{}, fmt.Errorf("parse link %s: %w", path, perr)
	}
	return ID{Ino: ino}, nil
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
