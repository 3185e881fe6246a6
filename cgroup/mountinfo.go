package cgroup

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
)

// mountFlags are cgroup mount options that are not controllers.
var mountFlags = map[string]bool{
	"rw": true, "ro": true, "noprefix": true, "clone_children": true, "xattr": true,
	"cpuset_v2_mode": true, "favordynmods": true, "nsdelegate": true,
	"memory_recursiveprot": true, "memory_localevents": true,
	"memory_hugetlb_accounting": true, "pids_localevents": true,
}

// parseMountinfo returns the cgroup hierarchies in a mountinfo file
// (proc(5), /proc/PID/mountinfo). A hierarchy mounted twice (a bind mount)
// is reported once, at its first mountpoint with root "/".
func parseMountinfo(r io.Reader) ([]Hierarchy, error) {
	var hs []Hierarchy
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	// Lines are short, but an overlay mount's options can run to kilobytes.
	sc.Buffer(make([]byte, 0, 4096), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		// id parent major:minor root mountpoint opts [optional...] - fstype source superopts
		sep := strings.Index(line, " - ")
		if sep < 0 {
			return nil, fmt.Errorf("%w mountinfo line %q: no separator", ErrParse, line)
		}
		pre := strings.Fields(line[:sep])
		post := strings.Fields(line[sep+3:])
		if len(pre) < 5 || len(post) < 1 {
			return nil, fmt.Errorf("%w mountinfo line %q: too few fields", ErrParse, line)
		}
		fstype := post[0]
		if fstype != "cgroup" && fstype != "cgroup2" {
			continue
		}
		dev, root, mnt := pre[2], unescapeMount(pre[3]), unescapeMount(pre[4])
		if seen[dev] || root != "/" {
			// NOTE: inside a container without a cgroup namespace the
			// host's hierarchy can be bind-mounted with a root below "/";
			// paths would then not be host paths, so such mounts are skipped.
			continue
		}
		seen[dev] = true
		h := Hierarchy{Version: 1, Mountpoint: mnt}
		if fstype == "cgroup2" {
			h.Version = 2
		} else if len(post) >= 3 {
			for _, o := range strings.Split(post[2], ",") {
				if mountFlags[o] || (strings.Contains(o, "=") && !strings.HasPrefix(o, "name=")) {
					continue
				}
				h.Controllers = append(h.Controllers, o)
			}
			sort.Strings(h.Controllers)
		}
		hs = append(hs, h)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return hs, nil
}

// unescapeMount undoes the octal escapes (\040 for space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range s[i+1 : i+4] {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + byte(c-'0')
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
