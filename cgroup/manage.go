package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// This file and create.go, limits.go, kill.go and delete.go are the write
// side of the package: they create groups, write their limits, place
// processes in them, kill and remove them. Plain file
// writes are used rather than containerd's cgroup1/cgroup2 managers so that
// every kernel refusal names the file and the value, and so that one value
// type (the FS read from mountinfo) drives v1, hybrid and v2 alike.

// managedV1 are the v1 controllers whose hierarchies a Manager writes to.
// cpu and cpuacct may be co-mounted or separate; each hierarchy is handled
// once.
var managedV1 = []string{"cpu", "cpuacct", "cpuset", "memory", "blkio", "pids", "freezer", "devices"}

// managedV2 are the v2 controllers a Manager enables along a new group's path.
var managedV2 = []string{"cpu", "cpuset", "memory", "io", "pids"}

// managedDir is one host directory of a managed group.
type managedDir struct {
	version     int
	controllers []string // v1: the hierarchy's controllers; v2: the group's cgroup.controllers
	dir         string
}

func (d managedDir) has(c string) bool { return slices.Contains(d.controllers, c) }

// Manager writes the limits of one group and moves processes into it, in
// every hierarchy that carries a managed controller the group needs (see
// neededV1) and, on a hybrid host, in the v2 tree too, for its
// cgroup.kill, pressure files and clone-into-cgroup.
type Manager struct {
	fs   *FS
	path string
	dirs []managedDir
	// made are the directories Create made, deepest last, for rollback.
	made []string
	// final holds the files PrepareFinal opened for ReadFinal.
	final *fileCache
}

// Path is the group's path relative to the hierarchy roots.
func (m *Manager) Path() string { return m.path }

// managedHierarchies lists the hierarchies a Manager works in, v2 first.
func (f *FS) managedHierarchies() []Hierarchy {
	var v1, v2 []Hierarchy
	for _, h := range f.hs {
		switch {
		case h.Version == 2:
			v2 = append(v2, h)
		case slices.ContainsFunc(h.Controllers, func(c string) bool { return slices.Contains(managedV1, c) }):
			v1 = append(v1, h)
		}
	}
	return append(v2, v1...)
}

// Load returns a Manager for an existing group, such as any group on the
// host that `ctop update` is pointed at.
func Load(f *FS, path string) (*Manager, error) {
	path = cleanPath(path)
	m := &Manager{fs: f, path: path}
	for _, h := range f.managedHierarchies() {
		dir := f.path(h.Mountpoint, path)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		md := managedDir{version: h.Version, controllers: h.Controllers, dir: dir}
		if h.Version == 2 {
			md.controllers = readControllers(dir)
		}
		m.dirs = append(m.dirs, md)
	}
	if len(m.dirs) == 0 {
		return nil, fmt.Errorf("load cgroup %s: %w", path, ErrNotFound)
	}
	return m, nil
}

func readControllers(dir string) []string {
	var buf bytes.Buffer
	b, err := readFile(filepath.Join(dir, "cgroup.controllers"), &buf)
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

// Dir returns the group's host directory for controller, or for the v2 tree
// with "". ok is false when the group has no such directory.
func (m *Manager) Dir(controller string) (string, bool) {
	for _, d := range m.dirs {
		if controller == "" && d.version == 2 {
			return d.dir, true
		}
		if controller != "" && d.has(controller) {
			return d.dir, true
		}
	}
	return "", false
}

// V1Dirs returns the group's directories in the v1 hierarchies, for a
// process that joins them itself (writing to their tasks files).
func (m *Manager) V1Dirs() []string {
	var out []string
	for _, d := range m.dirs {
		if d.version == 1 {
			out = append(out, d.dir)
		}
	}
	return out
}

// Read reads the group's counters and its own limits, from every hierarchy
// that has it, as FS.Read does, but not its ancestors' limits: Effective
// is left unknown. It is for a last reading before the group is removed
// (a sandbox's result), where reading every ancestor would double the
// files read for numbers nobody shows.
func (m *Manager) Read() (*Group, error) {
	return m.fs.readGroup(m.path, readMode{}, nil)
}

// eventCounters are what a group's last reading needs for a sandbox's
// report: the counters that show it ran into a limit (OOM kills, forks
// refused, throttling). statsCounters add what ctop run --stats prints:
// CPU time, peak memory, IO bytes. finalLimits are read when one of the
// events happened: the limits the report names, and v1's failed charges.
var (
	eventCounters = map[string]bool{
		"cgroup.controllers": true,
		// v2 (cpu.stat is v1's name too)
		"cpu.stat": true, "memory.events": true, "pids.events": true,
		// v1
		"memory.oom_control": true,
	}
	statsCounters = union(eventCounters, map[string]bool{
		"memory.peak": true, "io.stat": true,
		"cpuacct.usage": true, "memory.max_usage_in_bytes": true,
		"blkio.throttle.io_service_bytes_recursive": true, "blkio.throttle.io_service_bytes": true,
	})
	finalLimits = map[string]bool{
		"cgroup.controllers": true,
		"cpu.max":            true, "memory.max": true, "pids.max": true,
		"cpu.cfs_quota_us": true, "cpu.cfs_period_us": true, "memory.limit_in_bytes": true,
		"memory.failcnt": true,
	}
)

// PrepareFinal opens the files ReadFinal(stats) reads, while the group's
// processes still run, so that the reading after they end costs a read
// per file and no open, the dearest of the two on kernfs. It reads them
// once; a failure shows in ReadFinal.
func (m *Manager) PrepareFinal(stats bool) {
	m.CloseFinal()
	mode := m.finalMode(stats)
	mode.cache = newFileCache()
	_, _ = m.fs.readGroup(m.path, mode, nil)
	m.final = mode.cache
}

// CloseFinal closes what PrepareFinal opened, for a group whose last
// reading is not to be taken (ReadFinal closes them itself).
func (m *Manager) CloseFinal() {
	if m.final != nil {
		m.final.close()
		m.final = nil
	}
}

// finalMode is how ReadFinal reads.
func (m *Manager) finalMode(stats bool) readMode {
	in := make([]bool, len(m.fs.hs))
	for i, h := range m.fs.hs {
		dir := m.fs.path(h.Mountpoint, m.path)
		// A v2 tree without managed controllers (a hybrid host's) has
		// no counter of these.
		in[i] = (h.Version == 1 || v2Managed(h)) && slices.ContainsFunc(m.dirs, func(d managedDir) bool { return d.dir == dir })
	}
	only := eventCounters
	if stats {
		only = statsCounters
	}
	return readMode{in: in, only: only}
}

func union(a, b map[string]bool) map[string]bool {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// ReadFinal reads what a group's last reading before removal needs, from
// the group's own hierarchies only: the counters of eventCounters (with
// stats, statsCounters) and, when one of them shows an OOM kill, a refused
// fork or throttling, the files of finalLimits, whose limits a report then
// names. Everything else is left unknown: on v1 that is three files of the
// twenty-odd Read reads. Files that PrepareFinal opened are read through
// its descriptors, and closed.
func (m *Manager) ReadFinal(stats bool) (*Group, error) {
	mode := m.finalMode(stats)
	if m.final != nil {
		mode.cache = m.final
		defer func() { m.final.close(); m.final = nil }()
	}
	return m.readFinal(mode)
}

func (m *Manager) readFinal(mode readMode) (*Group, error) {
	g, err := m.fs.readGroup(m.path, mode, nil)
	if g == nil {
		return g, err
	}
	in := mode.in
	if s := &g.Stats; s.Memory.Events.OOMKill.V == 0 && s.Pids.MaxEvents.V == 0 && s.CPU.Throttled.V == 0 {
		return g, err
	}
	l, lerr := m.fs.readGroup(m.path, readMode{in: in, only: finalLimits}, nil)
	if l != nil {
		g.Limits = l.Limits
		if f := l.Stats.Memory.Failcnt; f.OK {
			g.Stats.Memory.Failcnt, g.Stats.Memory.Events.Max = f, f
		}
		g.Errors = append(g.Errors, l.Errors...)
	}
	return g, errors.Join(err, lerr)
}

// AddProc moves pid into the group in every hierarchy.
func (m *Manager) AddProc(pid int) error { return m.addProc(pid, true) }

// AddProcV1 moves pid into the group in the v1 hierarchies only: for a
// process cloned into the group's v2 directory on a hybrid host. Each
// move takes the kernel's cgroup threadgroup lock for writing, which
// waits for an RCU grace period, so moves not needed are worth skipping.
func (m *Manager) AddProcV1(pid int) error { return m.addProc(pid, false) }

func (m *Manager) addProc(pid int, v2 bool) error {
	for _, d := range m.dirs {
		if d.version == 2 && !v2 {
			continue
		}
		if err := writeFile(d.dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("move pid %d into %s: %w", pid, m.path, err)
		}
	}
	return nil
}

// FD opens the group's v2 directory for clone3's CLONE_INTO_CGROUP
// (SysProcAttr.UseCgroupFD). ok is false when there is no v2 directory; the
// caller then falls back to AddProc. The caller closes the fd.
func (m *Manager) FD() (fd int, ok bool, err error) {
	dir, ok := m.Dir("")
	if !ok {
		return -1, false, nil
	}
	fd, err = unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, false, fmt.Errorf("open %s for clone into cgroup: %w", dir, err)
	}
	return fd, true, nil
}

// Procs lists the processes of the group and its descendants, from every
// hierarchy, without duplicates.
func (m *Manager) Procs() ([]int, error) {
	out, err := procsIn(m.dirs)
	if err != nil {
		return nil, fmt.Errorf("list processes of %s: %w", m.path, err)
	}
	return out, nil
}

// FirstPid returns the lowest pid in the group or below it, for commands
// that take a group's name where they want a process. A group no process
// runs in is an error naming it.
func (m *Manager) FirstPid() (int, error) {
	pids, err := m.Procs()
	if err != nil {
		return 0, err
	}
	if len(pids) == 0 {
		return 0, fmt.Errorf("no process runs in %s", m.path)
	}
	return pids[0], nil
}

// procsIn lists the processes of dirs and their descendants, sorted,
// without duplicates.
func procsIn(dirs []managedDir) ([]int, error) {
	var out []int
	for _, d := range dirs {
		// A group removed meanwhile (its sandbox's own teardown racing a
		// stop) has no processes: its files vanish (ENOENT) or, open
		// already, read ENODEV.
		err := filepath.WalkDir(d.dir, func(p string, e os.DirEntry, err error) error {
			if err != nil {
				if missing(err) {
					return filepath.SkipDir
				}
				return err
			}
			if !e.IsDir() {
				return nil
			}
			f, err := os.Open(filepath.Join(p, "cgroup.procs"))
			if err != nil {
				if missing(err) {
					return nil
				}
				return err
			}
			defer f.Close()
			s := bufio.NewScanner(f)
			for s.Scan() {
				if n, err := strconv.Atoi(strings.TrimSpace(s.Text())); err == nil {
					out = append(out, n)
				}
			}
			if err := s.Err(); err != nil && !missing(err) {
				return err
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
