package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// Delete removes the group and its descendants from every hierarchy. The
// group must have no processes left (see Kill). A removal the kernel
// refuses while an exited process is still being torn down is retried
// briefly.
func (m *Manager) Delete() error {
	var errs []error
	for _, dir := range m.allDirs() {
		if err := removeTree(dir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete cgroup %s: %w", m.path, err)
	}
	return nil
}

// DeleteIfEmpty removes the group from every hierarchy if it has neither
// processes nor child groups, with one rmdir per hierarchy and no retry.
// It reports false, having removed what it could, when a hierarchy's
// directory is busy; Kill and Delete then finish the job.
func (m *Manager) DeleteIfEmpty() (bool, error) {
	all := true
	for _, dir := range m.allDirs() {
		err := unix.Rmdir(dir)
		switch {
		case err == nil, errors.Is(err, unix.ENOENT):
		case errors.Is(err, unix.EBUSY), errors.Is(err, unix.ENOTEMPTY):
			all = false
		default:
			return false, fmt.Errorf("delete cgroup %s: remove %s: %w", m.path, dir, err)
		}
	}
	return all, nil
}

// allDirs are the group's directories and, after them, its place in the
// managed hierarchies it was not found in, where another ctop may have
// made it since (Extend).
func (m *Manager) allDirs() []string {
	var out []string
	for _, d := range m.dirs {
		out = append(out, d.dir)
	}
	for _, h := range m.fs.managedHierarchies() {
		if dir := m.fs.path(h.Mountpoint, m.path); !slices.Contains(out, dir) {
			out = append(out, dir)
		}
	}
	return out
}

// removeTree removes a cgroup directory and its child groups, deepest
// first. Only directories are removed: a cgroup's files vanish with it.
func removeTree(dir string) error {
	// Most groups have no child groups: rmdir straight away spares listing
	// the directory. The kernel refuses a group with children with EBUSY,
	// as it does one still busy with an exited process; either way the
	// children, if any, go first and the removal is retried below.
	err := unix.Rmdir(dir)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.ENOTEMPTY) {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	// A group whose last process has just been reaped can refuse removal
	// for a moment while the kernel finishes with it; the wait starts
	// short, as the common case is a fraction of a millisecond, and backs
	// off to about a second in all.
	wait := 100 * time.Microsecond
	for i := 0; ; i++ {
		err := unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || i == 100 {
			return fmt.Errorf("remove %s: %w", dir, err)
		}
		time.Sleep(wait)
		wait = min(2*wait, 10*time.Millisecond)
	}
}

// RemoveIfEmpty removes group path from every hierarchy if it has no child
// groups and no processes; it reports whether it removed anything. ctop
// uses it for its parent group ("/ctop") once the last sandbox is gone.
func RemoveIfEmpty(f *FS, path string) (bool, error) {
	path = cleanPath(path)
	removed := false
	// rmdir alone answers every question (the kernel refuses a group with
	// processes or children, and a missing one is ENOENT): no Load first,
	// whose stat and cgroup.controllers read per hierarchy it would repeat.
	for _, h := range f.managedHierarchies() {
		dir := f.path(h.Mountpoint, path)
		err := unix.Rmdir(dir)
		switch {
		case err == nil:
			removed = true
		case errors.Is(err, unix.EBUSY), errors.Is(err, unix.ENOTEMPTY), errors.Is(err, unix.ENOENT),
			errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM): // in use, gone, or not ours
		default:
			return removed, fmt.Errorf("remove %s: %w", dir, err)
		}
	}
	return removed, nil
}
