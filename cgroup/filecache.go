package cgroup

import (
	"bytes"
	"errors"
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// fileCache keeps a Scanner's kernel files open between scans. Reading a
// cgroup file again from offset 0 makes the kernel generate it anew
// (seq_file restarts at position 0), so a refresh costs one pread per file
// instead of open, read and close, and opening a kernfs file is the dearest
// of the three. Files of removed groups fail with ENODEV and are dropped.
type fileCache struct {
	files map[fileKey]*cachedFile
	// dirs holds each group's directory in each hierarchy, so that a scan
	// does not build thousands of path strings only to look files up.
	dirs map[dirKey]string
	max  int    // most descriptors kept
	gen  uint64 // the current scan, to drop files no scan reads any more
}

type fileKey struct{ dir, name string }

type dirKey struct {
	hierarchy int
	path      string
}

type cachedFile struct {
	fd  int
	gen uint64
}

func newFileCache() *fileCache {
	// Keep well inside the descriptor limit (Go raises the soft limit to
	// the hard one at start), leaving room for everything else.
	max := 4096
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil && rl.Cur/2 > uint64(max) {
		max = int(min(rl.Cur/2, 1<<16))
	}
	return &fileCache{files: map[fileKey]*cachedFile{}, dirs: map[dirKey]string{}, max: max}
}

// dir returns the directory of group path in hierarchy i of f.
func (c *fileCache) dir(f *FS, i int, path string) string {
	if c == nil {
		return f.path(f.hs[i].Mountpoint, path)
	}
	k := dirKey{i, path}
	d, ok := c.dirs[k]
	if !ok {
		d = f.path(f.hs[i].Mountpoint, path)
		c.dirs[k] = d
	}
	return d
}

// read returns the content of dir/name, from a kept descriptor where it
// has one.
func (c *fileCache) read(dir, name string, buf *bytes.Buffer) ([]byte, error) {
	if c == nil {
		return readFile(filepath.Join(dir, name), buf)
	}
	key := fileKey{dir, name}
	if f, ok := c.files[key]; ok {
		b, err := preadAll(f.fd, buf)
		if err == nil {
			f.gen = c.gen
			return b, nil
		}
		// The group was removed (ENODEV), maybe made again under the same
		// name: drop the descriptor and open the path afresh.
		unix.Close(f.fd)
		delete(c.files, key)
	}
	path := filepath.Join(dir, name)
	fd, err := openRetry(path, unix.O_RDONLY)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	b, err := preadAll(fd, buf)
	if err != nil || len(c.files) >= c.max {
		unix.Close(fd)
	} else {
		c.files[key] = &cachedFile{fd: fd, gen: c.gen}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	return b, nil
}

// prune closes the files that the scan numbered gen did not read, and
// forgets the directories (those of groups still there come back at the
// next scan).
func (c *fileCache) prune() {
	clear(c.dirs)
	for p, f := range c.files {
		if f.gen != c.gen {
			unix.Close(f.fd)
			delete(c.files, p)
		}
	}
}

// close closes every kept file.
func (c *fileCache) close() {
	for p, f := range c.files {
		unix.Close(f.fd)
		delete(c.files, p)
	}
}

// preadAll reads fd whole from offset 0 into buf.
func preadAll(fd int, buf *bytes.Buffer) ([]byte, error) {
	buf.Reset()
	var off int64
	for {
		buf.Grow(4096)
		b := buf.AvailableBuffer()[:4096]
		n, err := unix.Pread(fd, b, off)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return buf.Bytes(), nil
		}
		buf.Write(b[:n])
		off += int64(n)
		if n < shortRead { // see readFile
			return buf.Bytes(), nil
		}
	}
}
