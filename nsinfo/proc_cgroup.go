package nsinfo

import (
	"bytes"
	"fmt"
	"strings"
)

// CgroupEntry is one line of /proc/PID/cgroup (cgroups(7)): the process's
// cgroup in one hierarchy.
type CgroupEntry struct {
	// HierarchyID is the v1 hierarchy number (see /proc/cgroups); 0 is the
	// cgroup v2 unified hierarchy.
	HierarchyID int `json:"hierarchy"`
	// Controllers are the v1 controllers bound to the hierarchy, including
	// named hierarchies as "name=systemd"; empty for v2. Processes read in
	// one scan share these slices: do not modify them.
	Controllers []string `json:"controllers"`
	// Path is the cgroup, relative to the hierarchy's root as seen from the
	// process's cgroup namespace.
	Path string `json:"path"`
}

// parseCgroup parses the text of /proc/PID/cgroup: lines of
// "hierarchy-ID:controller-list:cgroup-path". The path may contain ':'.
// The entries come from in, so that processes in the same groups share
// them (they must not be modified); in may be nil.
func parseCgroup(b []byte, in *intern) ([]CgroupEntry, error) {
	if in != nil {
		if es, ok := in.sets[string(b)]; ok {
			return es, nil
		}
	}
	text := b
	out := make([]CgroupEntry, 0, bytes.Count(b, []byte{'\n'})+1)
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(line) == 0 {
			continue
		}
		i := bytes.IndexByte(line, ':')
		if i < 0 {
			return nil, fmt.Errorf("%w: %q", ErrParse, line)
		}
		j := bytes.IndexByte(line[i+1:], ':')
		if j < 0 {
			return nil, fmt.Errorf("%w: %q", ErrParse, line)
		}
		j += i + 1
		id, err := atoi(line[:i])
		if err != nil {
			return nil, fmt.Errorf("%w: hierarchy id in %q", ErrParse, line)
		}
		e := CgroupEntry{HierarchyID: id, Path: in.str(line[j+1:])}
		if j > i+1 {
			e.Controllers = in.list(line[i+1 : j])
		}
		out = append(out, e)
	}
	if in != nil {
		if in.sets == nil {
			in.sets = map[string][]CgroupEntry{}
		}
		in.sets[string(text)] = out
	}
	return out, nil
}

// intern hands out one string (or controller list, or parsed cgroup file)
// per distinct text, so that thousands of processes in a few groups do
// not each allocate them.
type intern struct {
	strs  map[string]string
	lists map[string][]string
	sets  map[string][]CgroupEntry
}

// reset forgets every text, so that a long-lived intern does not keep
// those of groups long gone.
func (in *intern) reset() { *in = intern{} }

func (in *intern) str(b []byte) string {
	if in == nil {
		return string(b)
	}
	if s, ok := in.strs[string(b)]; ok {
		return s
	}
	if in.strs == nil {
		in.strs = map[string]string{}
	}
	s := string(b)
	in.strs[s] = s
	return s
}

// list splits a comma-separated controller list.
func (in *intern) list(b []byte) []string {
	if in != nil {
		if l, ok := in.lists[string(b)]; ok {
			return l
		}
	}
	l := strings.Split(string(b), ",")
	if in != nil {
		if in.lists == nil {
			in.lists = map[string][]string{}
		}
		in.lists[string(b)] = l
	}
	return l
}

// atoi parses a non-negative decimal number.
func atoi(b []byte) (int, error) {
	if len(b) == 0 || len(b) > 18 {
		return 0, ErrParse
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, ErrParse
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// CgroupPath returns the most telling of the process's cgroup paths: on a
// pure v2 host its only (unified) path; on a v1 or hybrid host the deepest
// path, because v1 hierarchies that nobody manages leave processes at "/"
// while the one a service manager or container runtime uses holds the real
// group (ties go to the v2 path, then to the lowest hierarchy id). It is ""
// when the cgroups could not be read.
func (p Process) CgroupPath() string {
	best := -1
	for i, e := range p.Cgroups {
		if best < 0 || depth(e.Path) > depth(p.Cgroups[best].Path) ||
			depth(e.Path) == depth(p.Cgroups[best].Path) && e.HierarchyID < p.Cgroups[best].HierarchyID {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return p.Cgroups[best].Path
}

// depth counts the components of a cgroup path; "/" has none.
func depth(path string) int {
	return strings.Count(strings.TrimRight(path, "/"), "/")
}
