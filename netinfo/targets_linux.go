package netinfo

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/ctop-dev/ctop/nsinfo"
)

// Reader reads the network namespaces of the host whose root directory it
// was given. It is a small value, safe to copy.
type Reader struct {
	root string
}

// New returns a Reader of the host at root ("/" on a live host): its proc
// mount, /run/netns and /run/docker/netns are read under root. Netlink
// always speaks to the running kernel.
func New(root string) Reader { return Reader{root: root} }

// mountDirs are where namespaces are kept alive by bind mounts: ip-netns(8)
// names them under /run/netns; docker keeps one per container sandbox
// under /run/docker/netns, named by the sandbox's id.
func mountDirs() []string { return []string{"run/netns", "run/docker/netns"} }

// Targets lists every network namespace that a process in procs is in
// (procs need FieldNS, and FieldCgroups for the owner's cgroup) and every
// one bind-mounted under /run/netns and /run/docker/netns, once each,
// sorted by inode. A namespace is reached through its lowest pid, as
// lsns(8) picks an owner, and through its bind mount when it has one.
func (r Reader) Targets(procs []nsinfo.Process) []Target {
	byID := map[nsinfo.ID]*Target{}
	for i := range procs {
		p := &procs[i]
		id := p.NS.Get(nsinfo.Net)
		if !id.Known() {
			continue
		}
		t := byID[id]
		if t == nil {
			t = &Target{ID: id, PID: p.PID, Cgroup: nsinfo.CgroupPath(p.Cgroups)}
			byID[id] = t
		} else if p.PID < t.PID {
			t.PID, t.Cgroup = p.PID, nsinfo.CgroupPath(p.Cgroups)
		}
	}
	dev := r.nsfsDev()
	for _, d := range mountDirs() {
		dir := filepath.Join(r.root, d)
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue // no such directory: nothing mounted there
		}
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			var st unix.Stat_t
			// NOTE: a name whose namespace is gone (`ip netns del` raced,
			// or a stale file after a crash) is an empty regular file on
			// the ordinary file system: only nsfs inodes count.
			if err := unix.Stat(p, &st); err != nil || dev == 0 || st.Dev != dev {
				continue
			}
			id := nsinfo.ID{Dev: st.Dev, Ino: st.Ino}
			t := byID[id]
			if t == nil {
				t = &Target{ID: id}
				byID[id] = t
			}
			if t.Mount == "" {
				t.Mount, t.Name = p, e.Name()
			}
		}
	}
	out := make([]Target, 0, len(byID))
	for _, t := range byID {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Target) int {
		return cmp.Or(cmp.Compare(a.ID.Ino, b.ID.Ino), cmp.Compare(a.ID.Dev, b.ID.Dev))
	})
	return out
}

// nsfsDev is the device of the kernel's nsfs, from the reader's own net
// link; 0 when it cannot be read.
func (r Reader) nsfsDev() uint64 {
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(r.root, "proc/self/ns/net"), &st); err != nil {
		return 0
	}
	return st.Dev
}
