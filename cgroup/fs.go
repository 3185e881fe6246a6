package cgroup

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// FS is the cgroup filesystems of one host as seen from a root directory:
// "/" on a live host, or a fixture tree that mirrors / (with
// proc/self/mountinfo and sys/fs/cgroup/...) in tests. The layout is read
// once, from the root's mountinfo; a Host keeps the live host's until its
// mount table changes.
type FS struct {
	root string
	mode Mode
	hs   []Hierarchy
	// byCtrl maps a controller name to its index in hs; the v2 hierarchy is
	// also found under "".
	byCtrl map[string]int
	// procsOrder lists the hierarchies (indices in hs) in the order a
	// group's processes are counted from.
	procsOrder []int
}

// Open reads the cgroup layout of the host rooted at root.
func Open(root string) (*FS, error) {
	mi := filepath.Join(root, "proc/self/mountinfo")
	f, err := os.Open(mi)
	if err != nil {
		return nil, fmt.Errorf("open cgroup layout: %w", err)
	}
	defer f.Close()
	hs, err := parseMountinfo(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", mi, err)
	}
	fs := &FS{root: root, hs: hs, byCtrl: map[string]int{}}
	v1, v2 := false, false
	for i := range fs.hs {
		h := &fs.hs[i]
		if h.Version == 2 {
			v2 = true
			fs.byCtrl[""] = i
			// The v2 root lists only the controllers that no v1 hierarchy
			// has claimed, so on a hybrid host it is often (nearly) empty.
			if b, err := os.ReadFile(fs.path(h.Mountpoint, "cgroup.controllers")); err == nil {
				h.Controllers = strings.Fields(string(b))
			}
			continue
		}
		if slices.ContainsFunc(h.Controllers, func(c string) bool { return !strings.HasPrefix(c, "name=") }) {
			v1 = true
		}
	}
	// v1 claims a controller first: it is then absent from the v2 root.
	for i, h := range fs.hs {
		if h.Version == 1 {
			for _, c := range h.Controllers {
				fs.byCtrl[c] = i
			}
		}
	}
	for i, h := range fs.hs {
		if h.Version == 2 {
			for _, c := range h.Controllers {
				if _, ok := fs.byCtrl[c]; !ok {
					fs.byCtrl[c] = i
				}
			}
		}
	}
	for _, c := range []string{"", "pids", "memory", "cpu", "cpuacct", "cpuset", "blkio", "freezer", "devices", "name=systemd"} {
		if i, ok := fs.byCtrl[c]; ok && !slices.Contains(fs.procsOrder, i) && (c != "" || !v1) {
			fs.procsOrder = append(fs.procsOrder, i)
		}
	}
	for i := range fs.hs {
		if !slices.Contains(fs.procsOrder, i) {
			fs.procsOrder = append(fs.procsOrder, i)
		}
	}
	switch {
	case v2 && v1:
		fs.mode = ModeHybrid
	case v2:
		fs.mode = ModeUnified
	case len(fs.hs) > 0:
		fs.mode = ModeLegacy
	default:
		return nil, fmt.Errorf("open cgroup layout from %s: %w", mi, ErrNoCgroups)
	}
	return fs, nil
}

// Mode is the host's cgroup layout.
func (f *FS) Mode() Mode { return f.mode }

// Hierarchies are the mounted hierarchies in mount order.
func (f *FS) Hierarchies() []Hierarchy { return slices.Clone(f.hs) }

// Root is the directory the FS was opened at.
func (f *FS) Root() string { return f.root }

// Hierarchy returns the hierarchy that carries controller; "" asks for the
// v2 hierarchy.
func (f *FS) Hierarchy(controller string) (Hierarchy, bool) {
	i, ok := f.byCtrl[controller]
	if !ok {
		return Hierarchy{}, false
	}
	return f.hs[i], true
}

// Dir returns the directory of group path in the hierarchy carrying
// controller ("" for the v2 tree), under the FS root. ok is false when no
// hierarchy carries the controller; the directory itself may not exist.
func (f *FS) Dir(controller, path string) (string, bool) {
	h, ok := f.Hierarchy(controller)
	if !ok {
		return "", false
	}
	return f.path(h.Mountpoint, cleanPath(path)), true
}

func (f *FS) path(elem ...string) string {
	return filepath.Join(append([]string{f.root}, elem...)...)
}

// cleanPath turns a user's group path into the canonical "/a/b" form.
func cleanPath(p string) string {
	return filepath.Clean("/" + p)
}

// readFile reads a kernel file whole. /proc and /sys report sizes that are
// wrong (0 or 4096), so it reads until EOF into buf and returns it. It uses
// the raw system calls: os.Open would also set the descriptor non-blocking
// and register it with the poller, two extra calls per file on a path that
// reads thousands of small files per refresh.
func readFile(path string, buf *bytes.Buffer) ([]byte, error) {
	fd, err := openRetry(path, unix.O_RDONLY)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf.Reset()
	for {
		buf.Grow(4096)
		b := buf.AvailableBuffer()[:4096]
		n, err := unix.Read(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n <= 0 {
			return buf.Bytes(), nil
		}
		buf.Write(b[:n])
		// NOTE: cgroup files are seq_files of short lines, which fill a
		// read as far as the next line fits in the kernel's page; a read
		// that left much room therefore reached the end. Stopping there
		// saves the read that would return 0, a third of the system calls.
		if n < shortRead {
			return buf.Bytes(), nil
		}
	}
}

// shortRead is the read size below which a cgroup file has been read whole:
// a page less room for any line the kernel writes into these files.
const shortRead = 4096 - 512

func openRetry(path string, flags int) (int, error) {
	for {
		fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}
