package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// ScanOptions select what Scan reads.
type ScanOptions struct {
	// Path is the top group, "/" (or "") for the whole host.
	Path string
	// Depth is how many levels below Path to read; 0 means no limit.
	Depth int
}

// Scan reads every group under opts.Path in every hierarchy, merged by path,
// parents before children, with their effective limits. The snapshot is
// complete even when err is not nil: err joins the per-file failures, which
// each group also carries in Errors.
func (f *FS) Scan(opts ScanOptions) (*Snapshot, error) {
	s := NewScanner(f, opts, 1)
	defer s.Close()
	return s.Scan()
}

// Scanner repeats a scan for a refresh loop (the TUI) at a fraction of the
// cost: usage is read on every Scan, while the directory walk, the limits
// and the slowly changing counters (peaks, v1 user/system split, failcnt
// and OOM kills) are read on every fullEvery-th Scan and carried over in
// between. A group made since the last full scan appears at the next one;
// a group removed since disappears at once. Invalidate forces a full scan,
// for a caller that has just changed a limit or made a group. It keeps the
// files it reads open between scans (one pread each per refresh instead of
// open, read and close); Close releases them. It is safe for concurrent use.
type Scanner struct {
	fs        *FS
	top       string
	depth     int
	fullEvery int

	mu    sync.Mutex
	n     int // scans since the last full one
	paths []string
	in    map[string][]bool
	// last holds each group's reading of the last full scan, whose slow
	// parts the scans between carry over.
	last  map[string]*Group
	base  Effective
	stale bool
	cache *fileCache
}

// NewScanner returns a Scanner of the groups opts selects; fullEvery below
// 1 means 1 (every scan is full).
func NewScanner(f *FS, opts ScanOptions, fullEvery int) *Scanner {
	return &Scanner{fs: f, top: cleanPath(opts.Path), depth: opts.Depth, fullEvery: max(fullEvery, 1), stale: true,
		cache: newFileCache()}
}

// Close releases the files the Scanner keeps open. A later Scan opens them
// again.
func (s *Scanner) Close() {
	s.mu.Lock()
	s.cache.close()
	s.mu.Unlock()
}

// Invalidate makes the next Scan a full one.
func (s *Scanner) Invalidate() {
	s.mu.Lock()
	s.stale = true
	s.mu.Unlock()
}

// Scan reads the groups, as FS.Scan does.
func (s *Scanner) Scan() (*Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fs
	var buf bytes.Buffer
	var errs []error
	full := s.stale || s.n%s.fullEvery == 0
	if full {
		paths, in, err := f.walk(s.top, s.depth)
		if err != nil {
			return nil, err
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("scan cgroup %s: %w", s.top, ErrNotFound)
		}
		base, err := f.ancestorsEffective(s.top, &buf)
		errs = append(errs, err)
		s.paths, s.in, s.base, s.n, s.stale = paths, in, base, 0, false
		s.last = make(map[string]*Group, len(paths))
	}
	s.n++
	s.cache.gen++
	snap := &Snapshot{Time: time.Now(), Mode: f.mode, Groups: make([]*Group, 0, len(s.paths))}
	eff := make(map[string]Effective, len(s.paths))
	for _, p := range s.paths {
		g, err := f.readGroup(p, readMode{in: s.in[p], quick: !full, cache: s.cache}, &buf)
		if errors.Is(err, ErrNotFound) {
			continue // removed since the walk
		}
		errs = append(errs, err)
		if full {
			s.last[p] = g
		} else if prev := s.last[p]; prev != nil {
			carrySlow(g, prev)
		}
		parent, ok := eff[parentPath(p)]
		if !ok || p == s.top {
			parent = s.base
		}
		g.Effective = tighten(parent, g)
		eff[p] = g.Effective
		snap.Groups = append(snap.Groups, g)
	}
	if full {
		// Files of groups gone since the last walk, or no longer read.
		s.cache.prune()
	}
	if len(snap.Groups) == 0 {
		s.stale = true
		return nil, fmt.Errorf("scan cgroup %s: %w", s.top, ErrNotFound)
	}
	return snap, errors.Join(errs...)
}

// Read reads one group, with its effective limits.
func (f *FS) Read(path string) (*Group, error) {
	p := cleanPath(path)
	var buf bytes.Buffer
	g, err := f.readGroup(p, readMode{}, &buf)
	if g == nil {
		return nil, err
	}
	base, err2 := f.ancestorsEffective(p, &buf)
	g.Effective = tighten(base, g)
	return g, errors.Join(err, err2)
}

// ancestorsEffective returns the effective limits of the parent of path,
// reading only the limits of its ancestors.
func (f *FS) ancestorsEffective(path string, buf *bytes.Buffer) (Effective, error) {
	e := Effective{Memory: Max, Pids: Max}
	if path == "/" {
		return e, nil
	}
	var chain []string
	for p := parentPath(path); ; p = parentPath(p) {
		chain = append(chain, p)
		if p == "/" {
			break
		}
	}
	var errs []error
	for i := len(chain) - 1; i >= 0; i-- {
		g, err := f.readGroup(chain[i], readMode{limitsOnly: true}, buf)
		if g == nil {
			continue
		}
		errs = append(errs, err)
		e = tighten(e, g)
	}
	return e, errors.Join(errs...)
}

// tighten returns the effective limits of g given its parent's.
func tighten(parent Effective, g *Group) Effective {
	e := parent
	if !e.Memory.OK {
		e.Memory = Max
	}
	if !e.Pids.OK {
		e.Pids = Max
	}
	if c := g.Limits.CPU.Cores(); c > 0 && (e.Cores == 0 || c < e.Cores) {
		e.Cores, e.CoresFrom = c, g.Path
	}
	if g.Limits.Memory.Max.Less(e.Memory) {
		e.Memory, e.MemFrom = g.Limits.Memory.Max, g.Path
	}
	if g.Limits.Pids.Less(e.Pids) {
		e.Pids, e.PidsFrom = g.Limits.Pids, g.Path
	}
	return e
}

func parentPath(p string) string {
	if p == "/" {
		return "/"
	}
	d := filepath.Dir(p)
	return d
}

// walk lists the group paths under top in every hierarchy, in tree order,
// and for each path the hierarchies (by index) that have it.
func (f *FS) walk(top string, depth int) ([]string, map[string][]bool, error) {
	set := map[string][]bool{}
	buf := make([]byte, 16<<10)
	for i, h := range f.hs {
		mnt := f.path(h.Mountpoint)
		// rel is the group path, dir its directory in this hierarchy.
		var visit func(rel, dir string, level int) error
		visit = func(rel, dir string, level int) error {
			var kids []string
			err := subdirs(dir, buf, func(name string) { kids = append(kids, name) })
			if err != nil {
				if level == 0 || errors.Is(err, fs.ErrNotExist) {
					return nil // absent here, or removed while walking
				}
				return fmt.Errorf("walk %s: %w", dir, err)
			}
			in := set[rel]
			if in == nil {
				in = make([]bool, len(f.hs))
				set[rel] = in
			}
			in[i] = true
			if depth > 0 && level >= depth {
				return nil
			}
			for _, k := range kids {
				if err := visit(filepath.Join(rel, k), filepath.Join(dir, k), level+1); err != nil {
					return err
				}
			}
			return nil
		}
		if err := visit(top, filepath.Join(mnt, top), 0); err != nil {
			return nil, nil, err
		}
	}
	paths := make([]string, 0, len(set))
	for p := range set {
		paths = append(paths, p)
	}
	slices.SortFunc(paths, ComparePaths)
	return paths, set, nil
}

// ComparePaths orders group paths as a tree: component by component, so a
// group's descendants follow it directly.
func ComparePaths(a, b string) int {
	for {
		if a == b {
			return 0
		}
		ha, ra, _ := strings.Cut(strings.TrimPrefix(a, "/"), "/")
		hb, rb, _ := strings.Cut(strings.TrimPrefix(b, "/"), "/")
		if ha != hb {
			if ha == "" {
				return -1
			}
			if hb == "" {
				return 1
			}
			return strings.Compare(ha, hb)
		}
		if ra == "" && rb == "" {
			return 0
		}
		a, b = ra, rb
		if a == "" {
			return -1
		}
		if b == "" {
			return 1
		}
	}
}

// ProcessCgroup returns the v2 path of pid, or on v1 and hybrid hosts the
// path in the hierarchy of controller, read from /proc/PID/cgroup.
func (f *FS) ProcessCgroup(pid int, controller string) (string, error) {
	name := filepath.Join(f.root, "proc", fmt.Sprint(pid), "cgroup")
	b, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("read cgroup of pid %d: %w", pid, err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		// hierarchy-ID:controller-list:cgroup-path (cgroups(7))
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			return "", parseErr(name, []byte(line), "want id:controllers:path")
		}
		if controller == "" && parts[1] == "" && parts[0] == "0" {
			return parts[2], nil
		}
		if controller != "" && slices.Contains(strings.Split(parts[1], ","), controller) {
			return parts[2], nil
		}
	}
	return "", fmt.Errorf("pid %d has no cgroup for controller %q in %s", pid, controller, name)
}

// carrySlow copies into g, read by a quick scan, what only full scans read.
func carrySlow(g, full *Group) {
	g.Limits = full.Limits
	m, fm := &g.Stats.Memory, &full.Stats.Memory
	m.Peak = fm.Peak
	// The page cache as of the full scan, and the working set of the
	// fresh usage less the inactive file pages as of then (usage less the
	// working set; all of usage where that was floored at 0).
	m.File = fm.File
	if fm.WorkingSet.OK && fm.Current.OK {
		m.WorkingSet = workingSet(m.Current, Known(fm.Current.V-fm.WorkingSet.V))
	}
	if g.Stats.CPU.User == (U64{}) {
		g.Stats.CPU.User, g.Stats.CPU.System = full.Stats.CPU.User, full.Stats.CPU.System
	}
	if fm.Failcnt.OK { // v1 memory: failcnt and oom_control are slow
		m.Failcnt, m.Events.Max, m.Events.OOMKill, m.UnderOOM = fm.Failcnt, fm.Events.Max, fm.Events.OOMKill, fm.UnderOOM
	}
	if !m.Swap.OK { // v1 memsw is slow; v2 reads memory.swap.current every time
		m.Swap = fm.Swap
	}
	g.Stats.Pids.Peak, g.Stats.Pids.MaxEvents = full.Stats.Pids.Peak, full.Stats.Pids.MaxEvents
}

// Paths lists the group paths under top ("" or "/" for the whole host),
// top included, down to depth levels below it (0: no limit), in tree
// order, merged over every hierarchy: the directory walk of Scan without
// reading any group, the cheap listing a caller needs to find a group by
// something other than its path.
func (f *FS) Paths(top string, depth int) ([]string, error) {
	if top == "" {
		top = "/"
	}
	paths, _, err := f.walk(cleanPath(top), depth)
	return paths, err
}
