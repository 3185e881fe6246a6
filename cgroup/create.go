package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Create makes group path in every managed hierarchy, enabling the v2
// controllers along the path and seeding v1 cpusets from their parents,
// then writes r. Missing parents are created. On any failure, what Create
// made is removed again.
func Create(f *FS, path string, r Resources) (*Manager, error) {
	path = cleanPath(path)
	if path == "/" {
		return nil, fmt.Errorf("create cgroup: refusing to manage the root group")
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	m := &Manager{fs: f, path: path}
	if err := m.create(false, r); err != nil {
		m.rollback()
		return nil, err
	}
	if r.Devices != nil {
		if err := m.setDevices(r.Devices); err != nil {
			m.rollback()
			return nil, err
		}
		r.Devices = nil
	}
	if err := m.Update(r); err != nil {
		m.rollback()
		return nil, err
	}
	return m, nil
}

// CreateParents makes the groups above path that do not exist yet, as
// Create(f, path, r) would, in the hierarchies a group with limits r is
// made in (see neededV1), so that a caller can make a shared parent while
// it does other work and Create then makes only the group. What it made
// stays: the caller removes the parent once it is empty (RemoveIfEmpty),
// as it does after its last child group.
func CreateParents(f *FS, path string, r Resources) error {
	parent := filepath.Dir(cleanPath(path))
	if parent == "/" {
		return nil
	}
	m := &Manager{fs: f, path: parent}
	if err := m.create(true, r); err != nil {
		m.rollback()
		return err
	}
	return nil
}

func (m *Manager) create(existOK bool, r Resources) error {
	hs := m.fs.managedHierarchies()
	if len(hs) == 0 {
		return fmt.Errorf("create cgroup %s: %w", m.path, ErrNoCgroups)
	}
	parts := strings.Split(strings.TrimPrefix(m.path, "/"), "/")
	v2Kill := false
	for _, h := range hs {
		if h.Version == 1 && !neededV1(h, r, v2Kill) {
			continue
		}
		var dir string
		var err error
		for try := 0; try < 3; try++ {
			// An ancestor that another ctop removed between two of these
			// mkdirs (its last sandbox ended) is made again.
			if dir, err = m.createIn(h, parts, existOK); !errors.Is(err, fs.ErrNotExist) {
				break
			}
		}
		if err != nil {
			return err
		}
		md := managedDir{version: h.Version, controllers: h.Controllers, dir: dir}
		if h.Version == 2 {
			md.controllers = nil
			if v2Managed(h) {
				md.controllers = readControllers(dir)
			}
			// Only v1 hierarchies (a hybrid host's) ask.
			v2Kill = m.fs.Mode() == ModeHybrid && unix.Access(filepath.Join(dir, "cgroup.kill"), unix.F_OK) == nil
		}
		m.dirs = append(m.dirs, md)
	}
	return nil
}

// neededV1 reports whether a group with limits r needs v1 hierarchy h.
// Every hierarchy with a managed controller is needed but two: cpuset only
// for a cpuset limit (without one the group would only copy its parent's
// cpus and mems, for two mkdirs, two rmdirs and eight reads and writes per
// sandbox; Extend makes it when a limit comes later), and freezer not
// where the group's v2 directory (a hybrid host's) has cgroup.kill (Linux
// 5.14), with which Kill needs no freezing. devices is needed only for
// device rules: they are written once, by Create (see Resources.Devices).
func neededV1(h Hierarchy, r Resources, v2Kill bool) bool {
	for _, c := range h.Controllers {
		switch {
		case !slices.Contains(managedV1, c):
		case c == "cpuset" && r.CpusetCpus == nil && r.CpusetMems == nil:
		case c == "freezer" && v2Kill:
		case c == "devices" && r.Devices == nil:
		default:
			return true
		}
	}
	return false
}

// Extend makes the group in the v1 hierarchies that limits r need and that
// Create left out (see neededV1: a cpuset group, made only for a cpuset
// limit), as Create makes it, writes r's cpuset values there and moves the
// group's processes into it. It is for groups ctop made, before Update
// with r; for any other group a missing hierarchy stays missing, and
// Update says so.
//
// Extend converges: where the directory exists already (an earlier
// Extend was killed before it had moved every process, or a process forked
// meanwhile), the processes still outside it are moved in. A value the
// kernel refuses is written before any process is moved, and what this
// call made is removed then, so a refused update leaves nothing behind.
func (m *Manager) Extend(r Resources) error {
	parts := strings.Split(strings.TrimPrefix(m.path, "/"), "/")
	var added []managedDir
	for _, h := range m.fs.managedHierarchies() {
		dir := m.fs.path(h.Mountpoint, m.path)
		if h.Version != 1 || !neededV1(h, r, true) {
			continue
		}
		if i := slices.IndexFunc(m.dirs, func(d managedDir) bool { return d.dir == dir }); i >= 0 {
			if err := m.moveProcs(m.dirs[i]); err != nil {
				return fmt.Errorf("extend cgroup %s: %w", m.path, err)
			}
			continue
		}
		made := len(m.made)
		dir, err := m.createIn(h, parts, true)
		if err == nil {
			md := managedDir{version: 1, controllers: h.Controllers, dir: dir}
			if err = md.setCpuset(r); err == nil {
				added = append(added, md)
				err = m.moveProcs(md)
			}
		}
		if err == nil && len(m.dirs) > 0 {
			// A group removed meanwhile (its sandbox ended and its
			// owner tore it down) is not made again here.
			if _, serr := os.Stat(m.dirs[0].dir); serr != nil {
				err = fmt.Errorf("extend cgroup %s: %w", m.path, ErrNotFound)
			}
		}
		if err != nil {
			for i := len(m.made) - 1; i >= made; i-- {
				_ = removeTree(m.made[i])
			}
			m.made = m.made[:made]
			return err
		}
	}
	m.dirs = append(m.dirs, added...)
	return nil
}

// setCpuset writes r's cpuset values to d, when d is a cpuset hierarchy's.
func (d managedDir) setCpuset(r Resources) error {
	if !d.has("cpuset") {
		return nil
	}
	for _, c := range []struct {
		v    *string
		file string
	}{{r.CpusetCpus, "cpuset.cpus"}, {r.CpusetMems, "cpuset.mems"}} {
		if c.v != nil {
			if err := writeFile(d.dir, c.file, *c.v); err != nil {
				return err
			}
		}
	}
	return nil
}

// moveProcs moves the processes of the group's own directories into d,
// its directory in a hierarchy Extend just made. A process forked during
// a round, after its parent was listed, is left behind by it and moved by
// the next; the rounds end when one finds nothing left to move.
func (m *Manager) moveProcs(d managedDir) error {
	for range 100 {
		in, err := procsIn(m.dirs)
		if err != nil {
			return err
		}
		there, err := procsIn([]managedDir{d})
		if err != nil {
			return err
		}
		moved := 0
		for _, p := range in {
			if _, ok := slices.BinarySearch(there, p); ok {
				continue
			}
			err := writeFile(d.dir, "cgroup.procs", strconv.Itoa(p))
			if err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("move pid %d into %s: %w", p, d.dir, err)
			}
			moved++
		}
		if moved == 0 {
			return nil
		}
	}
	return fmt.Errorf("move processes into %s: they fork faster than they can be moved", d.dir)
}

// v2Managed reports whether a v2 tree has any managed controller. One whose
// root has none (a hybrid host's, with v1 holding them all) has none to
// enable or list anywhere below.
func v2Managed(h Hierarchy) bool {
	return h.Version == 2 && slices.ContainsFunc(managedV2, func(c string) bool { return slices.Contains(h.Controllers, c) })
}

// createIn makes the group's directories in one hierarchy and returns the
// group's.
func (m *Manager) createIn(h Hierarchy, parts []string, existOK bool) (string, error) {
	cur := m.fs.path(h.Mountpoint)
	v2 := v2Managed(h)
	if !v2 && len(parts) > 1 {
		// Where no controller needs enabling on the way down, the group
		// itself is tried first: its parents usually exist (the parent
		// group ctop made beforehand, see CreateParents), and a mkdir
		// that fails for an existing parent costs as much as one that
		// makes it.
		leaf := m.fs.path(h.Mountpoint, m.path)
		err := m.mkdirGroup(h, filepath.Dir(leaf), leaf)
		switch {
		case err == nil, errors.Is(err, os.ErrExist) && existOK:
			return leaf, nil
		case errors.Is(err, os.ErrExist):
			return "", m.existsErr(leaf)
		case !errors.Is(err, fs.ErrNotExist):
			return "", err
		}
		// A missing parent: made below, top down.
	}
	for i, p := range parts {
		parent := cur
		cur = filepath.Join(cur, p)
		if v2 {
			// An ancestor that existed before may refuse (not ours, or
			// it has processes); a limit that needs the controller then
			// fails with a message naming its missing file.
			if err := enableControllers(parent); err != nil && slices.Contains(m.made, parent) {
				return "", err
			}
		}
		err := m.mkdirGroup(h, parent, cur)
		if errors.Is(err, os.ErrExist) {
			if i == len(parts)-1 && !existOK {
				return "", m.existsErr(cur)
			}
			continue
		}
		if err != nil {
			return "", err
		}
	}
	return cur, nil
}

// mkdirGroup makes group directory dir below parent in hierarchy h,
// records it for rollback and, in a v1 cpuset hierarchy, seeds its cpus
// and mems from the parent's.
func (m *Manager) mkdirGroup(h Hierarchy, parent, dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("create cgroup %s: %w", m.path, err)
	}
	m.made = append(m.made, dir)
	if h.Version == 1 && slices.Contains(h.Controllers, "cpuset") {
		return seedCpuset(parent, dir)
	}
	return nil
}

func (m *Manager) existsErr(dir string) error {
	return fmt.Errorf("create cgroup %s: %s already exists: choose another name or remove it", m.path, dir)
}

// enableControllers turns on, in dir's cgroup.subtree_control, the managed
// controllers that dir has and has not enabled yet.
func enableControllers(dir string) error {
	have := readControllers(dir)
	var buf bytes.Buffer
	b, _ := readFile(filepath.Join(dir, "cgroup.subtree_control"), &buf)
	on := strings.Fields(string(b))
	var add []string
	for _, c := range managedV2 {
		if slices.Contains(have, c) && !slices.Contains(on, c) {
			add = append(add, "+"+c)
		}
	}
	if len(add) == 0 {
		return nil
	}
	return writeFile(dir, "cgroup.subtree_control", strings.Join(add, " "))
}

// seedCpuset copies cpuset.cpus and cpuset.mems from the parent: a new v1
// cpuset starts empty and refuses tasks until both are set.
func seedCpuset(parent, dir string) error {
	var buf bytes.Buffer
	for _, name := range []string{"cpuset.cpus", "cpuset.mems"} {
		b, err := readFile(filepath.Join(parent, name), &buf)
		if err != nil {
			return fmt.Errorf("seed %s of %s: %w", name, dir, err)
		}
		if err := writeFile(dir, name, strings.TrimSpace(string(b))); err != nil {
			return err
		}
	}
	return nil
}

// rollback removes what create made, deepest first.
func (m *Manager) rollback() {
	for i := len(m.made) - 1; i >= 0; i-- {
		_ = removeTree(m.made[i])
	}
}
