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

// CgroupPath is the one group ctop shows a process in, picked from its
// /proc/PID/cgroup entries es: the deepest path, ties going to the v2
// path, then to the lowest hierarchy id; "" when es is empty (the cgroups
// could not be read). ctop ps and the TUI both use it, so that the two
// name the same group for a process.
//
// On a pure v2 host there is one entry and nothing to choose. On a v1 or
// hybrid host a process sits in one group per hierarchy, and the paths
// differ: hierarchies nobody manages leave it at "/" (or at a parent
// slice), while the ones its manager uses hold its real group. Which
// those are varies: a runtime may use the memory hierarchy alone, while
// systemd, with memory accounting off, puts a service into its named
// hierarchy, pids and the v2 tree and leaves memory and cpu at "/". A
// fixed controller order (memory, then cpu) would show such a service in
// the root group; the deepest path is the group that names it, in every
// case, and every path is a group ctop's cgroup scan lists, since it
// walks every hierarchy.
func CgroupPath(es []CgroupEntry) string {
	best := -1
	for i, e := range es {
		if best < 0 || depth(e.Path) > depth(es[best].Path) ||
			depth(e.Path) == depth(es[best].Path) && e.HierarchyID < es[best].HierarchyID {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return es[best].Path
}

// depth counts the components of a cgroup path; "/" has none.
func depth(path string) int {
	return strings.Count(strings.TrimRight(path, "/"), "/")
}
