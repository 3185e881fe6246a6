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
	top := cleanPath(opts.Path)
	paths, in, err := f.walk(top, opts.Depth)
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("scan cgroup %s: %w", top, ErrNotFound)
	}
	snap := &Snapshot{Time: time.Now(), Mode: f.mode, Groups: make([]*Group, 0, len(paths))}
	var errs []error
	var buf bytes.Buffer
	eff := map[string]Effective{}
	base, err := f.ancestorsEffective(top, &buf)
	errs = append(errs, err)
	for _, p := range paths {
		g, err := f.readGroup(p, false, &buf, in[p])
		if errors.Is(err, ErrNotFound) {
			continue // removed while we walked
		}
		errs = append(errs, err)
		parent, ok := eff[parentPath(p)]
		if !ok || p == top {
			parent = base
		}
		g.Effective = tighten(parent, g)
		eff[p] = g.Effective
		snap.Groups = append(snap.Groups, g)
	}
	return snap, errors.Join(errs...)
}

// Read reads one group, with its effective limits.
func (f *FS) Read(path string) (*Group, error) {
	p := cleanPath(path)
	var buf bytes.Buffer
	g, err := f.readGroup(p, false, &buf, nil)
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
		g, err := f.readGroup(chain[i], true, buf, nil)
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
	for i, h := range f.hs {
		mnt := f.path(h.Mountpoint)
		start := filepath.Join(mnt, top)
		err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == start || errors.Is(err, fs.ErrNotExist) {
					return fs.SkipDir // absent here, or removed while walking
				}
				return err
			}
			if !d.IsDir() {
				return nil
			}
			rel := "/" + strings.TrimPrefix(strings.TrimPrefix(p, mnt), "/")
			if depth > 0 && levels(top, rel) > depth {
				return fs.SkipDir
			}
			in := set[rel]
			if in == nil {
				in = make([]bool, len(f.hs))
				set[rel] = in
			}
			in[i] = true
			return nil
		})
		if err != nil && !errors.Is(err, fs.SkipDir) {
			return nil, nil, fmt.Errorf("walk %s: %w", start, err)
		}
	}
	paths := make([]string, 0, len(set))
	for p := range set {
		paths = append(paths, p)
	}
	slices.SortFunc(paths, ComparePaths)
	return paths, set, nil
}

// levels is how far below top rel is.
func levels(top, rel string) int {
	if rel == top {
		return 0
	}
	r := strings.TrimPrefix(rel, top)
	return strings.Count(strings.Trim(r, "/"), "/") + 1
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
