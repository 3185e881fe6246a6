package refload

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
)

// The limits every child group gets, so that a scan finds finite limits to
// read and show: 256 MiB of memory and half a core (a quota of 50 ms per
// 100 ms period).
const (
	memoryMax = "268435456"
	cpuQuota  = "50000"
	cpuPeriod = "100000"
)

// v1Controllers are the v1 hierarchies a load lives in (cpuacct only where
// the host has it); v2Controllers are the controllers it enables on v2,
// where cpuacct is part of cpu.
var (
	v1Controllers = []string{"cpu", "cpuacct", "memory", "pids"}
	v2Controllers = []string{"cpu", "memory", "pids"}
)

// isolation is the namespaces an isolated process gets (namespaces(7)):
// its own pid, net, uts, ipc and mnt namespaces, as a container has.
const isolation = syscall.CLONE_NEWPID | syscall.CLONE_NEWNET | syscall.CLONE_NEWUTS |
	syscall.CLONE_NEWIPC | syscall.CLONE_NEWNS

// Load is a built load: the groups it made and the processes it started.
type Load struct {
	groups []string
	// dirs are the directories made, in every hierarchy, parents first.
	dirs []string
	cmds []*exec.Cmd

	once sync.Once
	err  error
}

// hierarchy is one hierarchy the load lives in and the controllers of it
// that the load uses.
type hierarchy struct {
	root        string
	version     int
	controllers []string
}

func (h hierarchy) has(c string) bool { return slices.Contains(h.controllers, c) }

// Build makes o.Parent and its children and starts the processes in them.
//
// On v2 (ModeUnified) it enables cpu, memory and pids in the root's
// cgroup.subtree_control where they are missing (writing only those, so a
// root that already has them is left untouched), then in the parent's
// those that the parent got, and gives every child cpu.max and memory.max
// where it has the controller. On v1 and hybrid hosts the groups are made
// in the cpu, cpuacct, memory and pids hierarchies (not in hybrid's v2
// tree), every child with cpu.cfs_quota_us and memory.limit_in_bytes; each
// process joins its group in all of them. Such a host without a v1 cpu,
// memory or pids hierarchy gets ErrUnsupported.
//
// Every process is started with Pdeathsig SIGKILL, so if the caller is
// killed its processes die with it (only its groups are then left). On
// error Build removes what it made before returning.
func Build(f *cgroup.FS, o Options) (*Load, error) {
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("build reference load: %w", err)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("build reference load: %w", ErrNotRoot)
	}
	hs, err := hierarchies(f)
	if err != nil {
		return nil, fmt.Errorf("build reference load: %w", err)
	}
	l := &Load{}
	if err := l.build(hs, o); err != nil {
		return nil, errors.Join(fmt.Errorf("build reference load: %w", err), l.Remove())
	}
	return l, nil
}

// hierarchies lists where a load on f lives.
func hierarchies(f *cgroup.FS) ([]hierarchy, error) {
	if f.Mode() == cgroup.ModeUnified {
		// Its controllers are those the parent gets (see build).
		root, _ := f.Dir("", "/")
		return []hierarchy{{root: root, version: 2}}, nil
	}
	var out []hierarchy
	for _, c := range v1Controllers {
		h, ok := f.Hierarchy(c)
		if c == "cpuacct" && (!ok || h.Version != 1) {
			continue
		}
		if !ok || h.Version != 1 {
			return nil, fmt.Errorf("no v1 %s hierarchy: %w", c, ErrUnsupported)
		}
		root, _ := f.Dir(c, "/")
		i := slices.IndexFunc(out, func(h hierarchy) bool { return h.root == root })
		if i < 0 {
			out = append(out, hierarchy{root: root, version: 1})
			i = len(out) - 1
		}
		out[i].controllers = append(out[i].controllers, c)
	}
	return out, nil
}

func (l *Load) build(hs []hierarchy, o Options) error {
	v2 := hs[0].version == 2
	if v2 {
		enableMissing(hs[0].root)
	}
	for i, h := range hs {
		dir := filepath.Join(h.root, o.Parent)
		if err := l.mkdir(dir); err != nil {
			return err
		}
		if v2 {
			on, err := enable(dir)
			if err != nil {
				return err
			}
			hs[i].controllers = on
		}
	}
	for i := range o.Groups {
		g := fmt.Sprintf("%s/g%03d", o.Parent, i)
		l.groups = append(l.groups, g)
		for _, h := range hs {
			dir := filepath.Join(h.root, g)
			if err := l.mkdir(dir); err != nil {
				return err
			}
			if err := limit(dir, h); err != nil {
				return err
			}
		}
	}
	for i := range o.Procs {
		cmd := exec.Command("sleep", "3600")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if i < o.Isolated {
			cmd.SysProcAttr.Cloneflags = isolation
		}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start process %d: %w", i, err)
		}
		l.cmds = append(l.cmds, cmd)
		pid := strconv.Itoa(cmd.Process.Pid)
		for _, h := range hs {
			if err := write(filepath.Join(h.root, l.groups[i%o.Groups]), "cgroup.procs", pid); err != nil {
				return err
			}
		}
	}
	return nil
}

// enableMissing enables in the v2 root's cgroup.subtree_control those of
// the load's controllers that the root has and has not enabled, one at a
// time so that one refusal does not stop the others. NOTE: in a cgroup
// namespace the root seen may be a group with processes, which may refuse
// (EBUSY, "no internal processes", cgroup-v2.rst); the parent then enables
// what it got.
func enableMissing(root string) {
	have := readFields(root, "cgroup.controllers")
	on := readFields(root, "cgroup.subtree_control")
	for _, c := range v2Controllers {
		if slices.Contains(have, c) && !slices.Contains(on, c) {
			_ = write(root, "cgroup.subtree_control", "+"+c)
		}
	}
}

// enable enables in a new v2 group's cgroup.subtree_control those of the
// load's controllers that the group has, and returns them.
func enable(dir string) ([]string, error) {
	have := readFields(dir, "cgroup.controllers")
	var on []string
	for _, c := range v2Controllers {
		if slices.Contains(have, c) {
			on = append(on, c)
		}
	}
	if len(on) == 0 {
		return nil, nil
	}
	return on, write(dir, "cgroup.subtree_control", "+"+strings.Join(on, " +"))
}

// readFields reads a space-separated kernel file; a missing file reads as
// empty.
func readFields(dir, name string) []string {
	b, _ := os.ReadFile(filepath.Join(dir, name))
	return strings.Fields(string(b))
}

// limit writes a child group's limits in hierarchy h.
func limit(dir string, h hierarchy) error {
	// On v1 the controllers may share a hierarchy.
	var files [][2]string
	switch {
	case h.version == 2 && h.has("memory"):
		files = append(files, [2]string{"memory.max", memoryMax})
	case h.has("memory"):
		files = append(files, [2]string{"memory.limit_in_bytes", memoryMax})
	}
	switch {
	case h.version == 2 && h.has("cpu"):
		files = append(files, [2]string{"cpu.max", cpuQuota + " " + cpuPeriod})
	case h.has("cpu"):
		files = append(files, [2]string{"cpu.cfs_period_us", cpuPeriod}, [2]string{"cpu.cfs_quota_us", cpuQuota})
	}
	for _, f := range files {
		if err := write(dir, f[0], f[1]); err != nil {
			return err
		}
	}
	return nil
}

func write(dir, name, value string) error {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0); err != nil {
		return fmt.Errorf("write %q: %w", value, err)
	}
	return nil
}

func (l *Load) mkdir(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	l.dirs = append(l.dirs, dir)
	return nil
}

// Pids are the host pids of the processes the load started.
func (l *Load) Pids() []int {
	pids := make([]int, len(l.cmds))
	for i, c := range l.cmds {
		pids[i] = c.Process.Pid
	}
	return pids
}

// Groups are the paths of the child groups, such as
// "/ctop-test-bench-1234/g000", relative to the hierarchy roots.
func (l *Load) Groups() []string { return slices.Clone(l.groups) }

// Remove kills and reaps every process the load started, then removes
// every group directory it made, in every hierarchy, children first. It
// may be called more than once and from several goroutines (a signal
// handler and main); later calls wait for the first and return its
// result.
func (l *Load) Remove() error {
	l.once.Do(func() { l.err = l.remove() })
	return l.err
}

// rmdirWait bounds how long Remove retries a group the kernel still holds.
const rmdirWait = 5 * time.Second

func (l *Load) remove() error {
	for _, c := range l.cmds {
		_ = c.Process.Kill() // fails only if it has already exited
	}
	// Reaping an isolated process, the init of its pid namespace, returns
	// only once the kernel has torn that namespace's processes down.
	for _, c := range l.cmds {
		_ = c.Wait() // "signal: killed" is the expected outcome
	}
	var errs []error
	deadline := time.Now().Add(rmdirWait)
	for i := len(l.dirs) - 1; i >= 0; i-- {
		if err := rmdir(l.dirs[i], deadline); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove reference load: %w", err)
	}
	return nil
}

// rmdir removes a group directory. NOTE: the kernel may refuse (EBUSY)
// for a moment after the group's last process has been reaped, while the
// task is still being unlinked from it; that is retried until deadline.
func rmdir(dir string, deadline time.Time) error {
	for {
		err := syscall.Rmdir(dir)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("remove %s: %w", dir, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
