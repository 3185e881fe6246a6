package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// errNoTmpfile: the state directory's filesystem makes no unnamed files.
var errNoTmpfile = errors.New("no O_TMPFILE")

// createWhole makes the file at path with content b as one step: written
// unnamed (O_TMPFILE), then linked at path, which fails when the name is
// taken. A ctop killed meanwhile leaves nothing, where a file made by
// name and then written could be left empty, unreadable to List and
// holding the name. errNoTmpfile: the filesystem cannot (create falls
// back to the named file, Reap removes such empty ones).
func createWhole(path string, b []byte) (*os.File, error) {
	fd, err := unix.Open(filepath.Dir(path), unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EINVAL) {
		return nil, errNoTmpfile
	}
	if err != nil {
		return nil, &os.PathError{Op: "create", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	// linkat with AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; through
	// /proc/self/fd any user may.
	if err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "link", Path: path, Err: err}
	}
	return f, nil
}
