package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// This file is the write side of the package: it creates groups, writes
// their limits, places processes in them, kills and removes them. Plain file
// writes are used rather than containerd's cgroup1/cgroup2 managers so that
// every kernel refusal names the file and the value, and so that one value
// type (the FS read from mountinfo) drives v1, hybrid and v2 alike.

// managedV1 are the v1 controllers whose hierarchies a Manager writes to.
// cpu and cpuacct may be co-mounted or separate; each hierarchy is handled
// once.
var managedV1 = []string{"cpu", "cpuacct", "cpuset", "memory", "blkio", "pids", "freezer"}

// managedV2 are the v2 controllers a Manager enables along a new group's path.
var managedV2 = []string{"cpu", "cpuset", "memory", "io", "pids"}

// CPUMax is a CPU bandwidth limit: Quota microseconds of CPU time per
// Period microseconds (v2 cpu.max, v1 cpu.cfs_quota_us and cpu.cfs_period_us).
// An unlimited Quota removes the limit. A zero Period keeps the current one,
// as does a Quota that is not OK (the zero Limit: a change of period alone,
// docker's --cpu-period).
type CPUMax struct {
	Quota  Limit
	Period uint64
}

// IOThrottle is one device's throttle for one direction and unit. Rate 0
// removes the throttle (v2 writes "max", v1 writes 0).
type IOThrottle struct {
	Device Device
	// Kind is "rbps", "wbps", "riops" or "wiops" (the v2 io.max keys).
	Kind string
	Rate uint64
}

// Resources are the limits to write to a group. A nil field (or empty
// slice) is left as it is; anything else is written. Unlimited is written as
// "max" on v2 and as -1 on v1.
type Resources struct {
	CPU *CPUMax
	// CPUShares is v1 cpu.shares (2..262144); on v2 it is converted to
	// cpu.weight as runc converts it.
	CPUShares  *uint64
	CpusetCpus *string
	CpusetMems *string
	// MemoryMax is v2 memory.max, v1 memory.limit_in_bytes.
	MemoryMax *Limit
	// MemoryLow is a soft reservation: v2 memory.low, v1
	// memory.soft_limit_in_bytes.
	MemoryLow *Limit
	// MemorySwap is memory plus swap, docker's --memory-swap: v1
	// memory.memsw.limit_in_bytes; on v2 memory.swap.max is written as
	// MemorySwap - MemoryMax, so MemoryMax must be set with it.
	MemorySwap *Limit
	PidsMax    *Limit
	IO         []IOThrottle
}

// Empty reports whether r changes nothing.
func (r Resources) Empty() bool {
	return r.CPU == nil && r.CPUShares == nil && r.CpusetCpus == nil && r.CpusetMems == nil &&
		r.MemoryMax == nil && r.MemoryLow == nil && r.MemorySwap == nil && r.PidsMax == nil && len(r.IO) == 0
}

// Validate checks r without touching the kernel; its messages name the
// value and the rule.
func (r Resources) Validate() error {
	if r.CPU != nil {
		if r.CPU.Period != 0 && (r.CPU.Period < 1000 || r.CPU.Period > 1000000) {
			return fmt.Errorf("cpu period %dus out of range: want 1000..1000000", r.CPU.Period)
		}
		if r.CPU.Quota.Finite() && r.CPU.Quota.V < 1000 {
			return fmt.Errorf("cpu quota %dus too small: the kernel needs at least 1000us per period", r.CPU.Quota.V)
		}
	}
	if r.CPUShares != nil && (*r.CPUShares < 2 || *r.CPUShares > 262144) {
		return fmt.Errorf("cpu shares %d out of range: want 2..262144", *r.CPUShares)
	}
	for _, s := range []*string{r.CpusetCpus, r.CpusetMems} {
		if s != nil {
			if _, err := ParseCPUList(*s); err != nil {
				return err
			}
		}
	}
	if r.MemorySwap != nil && r.MemoryMax != nil && r.MemorySwap.Finite() && r.MemoryMax.Finite() && r.MemorySwap.V < r.MemoryMax.V {
		return fmt.Errorf("memory+swap limit %d is below the memory limit %d: --memory-swap counts memory plus swap", r.MemorySwap.V, r.MemoryMax.V)
	}
	for _, t := range r.IO {
		switch t.Kind {
		case "rbps", "wbps", "riops", "wiops":
		default:
			return fmt.Errorf("io throttle kind %q: want rbps, wbps, riops or wiops", t.Kind)
		}
	}
	return nil
}

// ParseCPUList parses a cpuset list such as "0-3,5" (cpuset(7)) into the
// sorted CPU or node numbers.
func ParseCPUList(s string) ([]int, error) {
	var out []int
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty cpu list: want a list like 0-3,5")
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("cpu list %q: bad number %q: want a list like 0-3,5", s, lo)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
				return nil, fmt.Errorf("cpu list %q: bad range %q: want a list like 0-3,5", s, part)
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, int(i))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

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
	if err := m.Update(r); err != nil {
		m.rollback()
		return nil, err
	}
	return m, nil
}

// CreateParents makes the groups above path that do not exist yet, as
// Create would, so that a caller can make a shared parent while it does
// other work. What it made stays: the caller removes the parent once it is
// empty (RemoveIfEmpty), as it does after its last child group.
func CreateParents(f *FS, path string) error {
	parent := filepath.Dir(cleanPath(path))
	if parent == "/" {
		return nil
	}
	m := &Manager{fs: f, path: parent}
	if err := m.create(true, Resources{}); err != nil {
		m.rollback()
		return err
	}
	return nil
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
// 5.14), with which Kill needs no freezing.
func neededV1(h Hierarchy, r Resources, v2Kill bool) bool {
	for _, c := range h.Controllers {
		switch {
		case !slices.Contains(managedV1, c):
		case c == "cpuset" && r.CpusetCpus == nil && r.CpusetMems == nil:
		case c == "freezer" && v2Kill:
		default:
			return true
		}
	}
	return false
}

// Extend makes the group in the v1 hierarchies that limits r need and that
// Create left out (see neededV1: a cpuset group, made only for a cpuset
// limit), as Create makes it, and moves the group's processes into it. It
// is for groups ctop made, before Update with r; for any other group a
// missing hierarchy stays missing, and Update says so.
func (m *Manager) Extend(r Resources) error {
	parts := strings.Split(strings.TrimPrefix(m.path, "/"), "/")
	var added []managedDir
	for _, h := range m.fs.managedHierarchies() {
		dir := m.fs.path(h.Mountpoint, m.path)
		if h.Version != 1 || !neededV1(h, r, true) || slices.ContainsFunc(m.dirs, func(d managedDir) bool { return d.dir == dir }) {
			continue
		}
		made := len(m.made)
		dir, err := m.createIn(h, parts, true)
		if err == nil {
			md := managedDir{version: 1, controllers: h.Controllers, dir: dir}
			added = append(added, md)
			err = m.moveProcs(md)
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

// WriteError is a kernel file write the kernel refused. Its message names
// the file and the value and translates the usual errno.
type WriteError struct {
	// File is the kernel file's name (cpu.max, memory.limit_in_bytes...),
	// Path its full path, Value what was written.
	File, Path, Value string
	Err               error
}

func (e *WriteError) Error() string {
	hint := ""
	switch {
	case errors.Is(e.Err, syscall.EINVAL):
		hint = ": the kernel refused the value"
	case errors.Is(e.Err, syscall.EBUSY):
		hint = ": the group is busy (it has processes or children that conflict)"
	case errors.Is(e.Err, syscall.EACCES), errors.Is(e.Err, syscall.EPERM):
		hint = ": permission denied (run as root or in a delegated subtree)"
	case errors.Is(e.Err, os.ErrNotExist):
		hint = ": the file does not exist (is the controller enabled for this group?)"
	case errors.Is(e.Err, syscall.ENODEV):
		hint = ": no such device (throttles apply to whole disks, not partitions)"
	case errors.Is(e.Err, syscall.ERANGE):
		hint = ": no such CPU or memory node on this host"
	case errors.Is(e.Err, syscall.ENOSPC):
		hint = ": no space (the cpuset has no CPUs or memory nodes)"
	}
	return fmt.Sprintf("write %q to %s%s: %v", e.Value, e.Path, hint, e.Err)
}

func (e *WriteError) Unwrap() error { return e.Err }

// writeFile writes one value to a kernel file; a refusal is a *WriteError.
func writeFile(dir, name, value string) error {
	p := filepath.Join(dir, name)
	// No O_CREAT: cgroupfs answers a create of a file it lacks with EACCES,
	// which would read as "permission denied" even to root. Plain system
	// calls: an *os.File of a cgroup file, which can be polled, would be
	// added to and removed from Go's netpoller, two calls more per write.
	fd, err := openRetry(p, unix.O_WRONLY|unix.O_TRUNC)
	if err == nil {
		for {
			_, err = unix.Write(fd, []byte(value))
			if err != unix.EINTR {
				break
			}
		}
		if cerr := unix.Close(fd); err == nil {
			err = cerr
		}
	}
	if err == nil {
		return nil
	}
	return &WriteError{File: name, Path: p, Value: value, Err: err}
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

func (m *Manager) dirFor(controller, flag string) (string, int, error) {
	for _, d := range m.dirs {
		if d.has(controller) {
			return d.dir, d.version, nil
		}
	}
	return "", 0, fmt.Errorf("set %s on %s: the %s controller is not available for this group (v2: enable it in the parent's cgroup.subtree_control)", flag, m.path, controller)
}

func v1Limit(l Limit) string {
	if l.Unlimited {
		return "-1"
	}
	return strconv.FormatUint(l.V, 10)
}

func v2Limit(l Limit) string {
	if l.Unlimited {
		return "max"
	}
	return strconv.FormatUint(l.V, 10)
}

// Update writes r to the group. Fields left nil are not touched.
func (m *Manager) Update(r Resources) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if r.CPU != nil {
		if err := m.setCPU(*r.CPU); err != nil {
			return err
		}
	}
	if r.CPUShares != nil {
		dir, v, err := m.dirFor("cpu", "cpu shares")
		if err != nil {
			return err
		}
		if v == 2 {
			err = writeFile(dir, "cpu.weight", strconv.FormatUint(sharesToWeight(*r.CPUShares), 10))
		} else {
			err = writeFile(dir, "cpu.shares", strconv.FormatUint(*r.CPUShares, 10))
		}
		if err != nil {
			return err
		}
	}
	for _, c := range []struct {
		v    *string
		file string
	}{{r.CpusetCpus, "cpuset.cpus"}, {r.CpusetMems, "cpuset.mems"}} {
		if c.v == nil {
			continue
		}
		dir, _, err := m.dirFor("cpuset", c.file)
		if err != nil {
			return err
		}
		if err := writeFile(dir, c.file, *c.v); err != nil {
			return err
		}
	}
	if r.MemoryMax != nil || r.MemorySwap != nil || r.MemoryLow != nil {
		if err := m.setMemory(r); err != nil {
			return err
		}
	}
	if r.PidsMax != nil {
		dir, _, err := m.dirFor("pids", "pids limit")
		if err != nil {
			return err
		}
		if err := writeFile(dir, "pids.max", v2Limit(*r.PidsMax)); err != nil {
			return err
		}
	}
	for _, t := range r.IO {
		if err := m.setIO(t); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) setCPU(c CPUMax) error {
	dir, v, err := m.dirFor("cpu", "cpu quota")
	if err != nil {
		return err
	}
	if v == 2 {
		quota := c.Quota
		if !quota.OK {
			// cpu.max takes the quota first: the current one is kept.
			b, err := os.ReadFile(filepath.Join(dir, "cpu.max"))
			if err != nil {
				return fmt.Errorf("set cpu period of %s: %w", m.path, err)
			}
			if quota, _, err = parseCPUMax("cpu.max", b); err != nil {
				return err
			}
		}
		val := v2Limit(quota)
		if c.Period != 0 {
			val += " " + strconv.FormatUint(c.Period, 10)
		}
		return writeFile(dir, "cpu.max", val)
	}
	if c.Period != 0 {
		if err := writeFile(dir, "cpu.cfs_period_us", strconv.FormatUint(c.Period, 10)); err != nil {
			return err
		}
	}
	if !c.Quota.OK {
		return nil
	}
	return writeFile(dir, "cpu.cfs_quota_us", v1Limit(c.Quota))
}

func (m *Manager) setMemory(r Resources) error {
	dir, v, err := m.dirFor("memory", "memory limit")
	if err != nil {
		return err
	}
	if v == 2 {
		if r.MemoryMax != nil {
			if err := writeFile(dir, "memory.max", v2Limit(*r.MemoryMax)); err != nil {
				return err
			}
		}
		if r.MemorySwap != nil {
			if r.MemoryMax == nil {
				return fmt.Errorf("set memory+swap on %s: give the memory limit with it", m.path)
			}
			swap := Max
			if r.MemorySwap.Finite() {
				if !r.MemoryMax.Finite() {
					return fmt.Errorf("set memory+swap on %s: a finite memory+swap limit needs a finite memory limit", m.path)
				}
				swap = LimitOf(r.MemorySwap.V - r.MemoryMax.V)
			}
			if err := writeFile(dir, "memory.swap.max", v2Limit(swap)); err != nil {
				return err
			}
		}
		if r.MemoryLow != nil {
			if err := writeFile(dir, "memory.low", v2Limit(*r.MemoryLow)); err != nil {
				return err
			}
		}
		return nil
	}
	// v1: memory.limit_in_bytes may never exceed memory.memsw.limit_in_bytes,
	// so the order of the two writes depends on the direction of the change.
	writeMax := func() error {
		if r.MemoryMax == nil {
			return nil
		}
		return writeFile(dir, "memory.limit_in_bytes", v1Limit(*r.MemoryMax))
	}
	writeSwap := func() error {
		if r.MemorySwap == nil {
			return nil
		}
		if _, err := os.Stat(filepath.Join(dir, "memory.memsw.limit_in_bytes")); err != nil {
			return fmt.Errorf("set memory+swap on %s: memory.memsw.limit_in_bytes is missing: the kernel has no swap accounting (boot with swapaccount=1)", m.path)
		}
		return writeFile(dir, "memory.memsw.limit_in_bytes", v1Limit(*r.MemorySwap))
	}
	if err := writeMax(); err != nil {
		if r.MemorySwap == nil {
			// Say what docker says, rather than the kernel's bare EINVAL.
			if b, rerr := os.ReadFile(filepath.Join(dir, "memory.memsw.limit_in_bytes")); rerr == nil && r.MemoryMax.Finite() {
				if sw, perr := parseLimit("memory.memsw.limit_in_bytes", b); perr == nil && sw.Finite() && r.MemoryMax.V > sw.V {
					return fmt.Errorf("set memory limit of %s to %d: above its memory+swap limit of %d: give --memory-swap with --memory", m.path, r.MemoryMax.V, sw.V)
				}
			}
			return err
		}
		if err := writeSwap(); err != nil {
			return err
		}
		if err := writeMax(); err != nil {
			return err
		}
	} else if err := writeSwap(); err != nil {
		return err
	}
	if r.MemoryLow != nil {
		if err := writeFile(dir, "memory.soft_limit_in_bytes", v1Limit(*r.MemoryLow)); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) setIO(t IOThrottle) error {
	if dir, v, err := m.dirFor("io", "io throttle"); err == nil && v == 2 {
		val := v2Limit(LimitOf(t.Rate))
		if t.Rate == 0 {
			val = "max"
		}
		return writeFile(dir, "io.max", fmt.Sprintf("%s %s=%s", t.Device, t.Kind, val))
	}
	dir, _, err := m.dirFor("blkio", "io throttle")
	if err != nil {
		return err
	}
	file := map[string]string{
		"rbps": "blkio.throttle.read_bps_device", "wbps": "blkio.throttle.write_bps_device",
		"riops": "blkio.throttle.read_iops_device", "wiops": "blkio.throttle.write_iops_device",
	}[t.Kind]
	return writeFile(dir, file, fmt.Sprintf("%s %d", t.Device, t.Rate))
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
	if m.final != nil {
		m.final.close()
	}
	mode := m.finalMode(stats)
	mode.cache = newFileCache()
	_, _ = m.fs.readGroup(m.path, mode, nil)
	m.final = mode.cache
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

// Kill kills every process in the group and its descendants and waits
// (up to a few seconds) until none is left. v2 writes cgroup.kill (also
// present in the v2 tree of a hybrid host); v1, where the group has a
// freezer directory (see neededV1), freezes the group so nothing can fork
// while it is killed, sends SIGKILL to each process, and thaws it.
func (m *Manager) Kill() error {
	// The usual caller kills a group whose processes have all exited (a
	// sandbox's teardown), so an empty group is worth spotting first. A group
	// with no process cannot gain one by itself (only a member forks into
	// it), so there is then nothing to freeze against forks either.
	if m.fs.Mode() == ModeUnified {
		// cgroup.events says whether any process is left in the subtree,
		// without listing every group's cgroup.procs.
		if dir, ok := m.Dir(""); ok {
			var buf bytes.Buffer
			if b, err := readFile(filepath.Join(dir, "cgroup.events"), &buf); err == nil && strings.Contains(string(b), "populated 0") {
				return nil
			}
		}
	} else {
		// v1 has no such file, and a hybrid host's v2 tree does not see a
		// process placed in the v1 hierarchies alone: list them all.
		procs, err := m.Procs()
		if err != nil {
			return err
		}
		if len(procs) == 0 {
			return nil
		}
	}
	if dir, ok := m.Dir(""); ok {
		if _, err := os.Stat(filepath.Join(dir, "cgroup.kill")); err == nil {
			if err := writeFile(dir, "cgroup.kill", "1"); err != nil {
				return fmt.Errorf("kill %s: %w", m.path, err)
			}
		}
	}
	frozen := ""
	if dir, ok := m.Dir("freezer"); ok {
		if err := writeFile(dir, "freezer.state", "FROZEN"); err == nil {
			frozen = dir
		}
	}
	var procs []int
	for range 200 {
		var err error
		procs, err = m.Procs()
		if err != nil {
			return err
		}
		if len(procs) == 0 {
			break
		}
		for _, p := range procs {
			// ESRCH: it exited meanwhile; nothing else can fail for root.
			_ = unix.Kill(p, unix.SIGKILL)
		}
		if frozen != "" {
			// SIGKILL is delivered to frozen tasks only once they thaw.
			_ = writeFile(frozen, "freezer.state", "THAWED")
			frozen = ""
		}
		time.Sleep(10 * time.Millisecond)
	}
	if frozen != "" {
		_ = writeFile(frozen, "freezer.state", "THAWED")
	}
	if len(procs) > 0 {
		return fmt.Errorf("kill %s: %d processes remain (%v)", m.path, len(procs), procs)
	}
	return nil
}

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

// rollback removes what create made, deepest first.
func (m *Manager) rollback() {
	for i := len(m.made) - 1; i >= 0; i-- {
		_ = removeTree(m.made[i])
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
