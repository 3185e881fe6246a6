package nsinfo

import (
	"cmp"
	"slices"
)

// Namespace is one namespace with the processes in it, as lsns(8) lists it.
type Namespace struct {
	Type Type `json:"type"`
	ID   ID   `json:"id"`
	// NProcs is the number of processes in the namespace.
	NProcs int `json:"nprocs"`
	// PID is the lowest pid in the namespace, the process lsns shows as its
	// owner; User and Command are that process's.
	PID     int    `json:"pid"`
	User    string `json:"user"`
	Command string `json:"command"`
	// Args is Command as an argument list (Process.Argv).
	Args []string `json:"args"`
	// PIDs are all processes in the namespace, ascending.
	PIDs []int `json:"pids"`
}

// Group groups processes into namespaces as lsns(8) does: one Namespace per
// (type, ID) that at least one process's link resolves to, owned by its
// lowest pid. Links that could not be read are left out, so without root
// only the caller's own processes count. The result is sorted by inode,
// then device, then type in Types() order, as lsns sorts it.
//
// User and Command are taken from the owner as procs has them: Command is
// the command line when it was read, else the command name (see
// FS.FillOwners).
func Group(procs []Process) []Namespace {
	type key struct {
		t  int
		id ID
	}
	index := map[key]int{}
	var out []Namespace
	for i := range procs {
		p := &procs[i]
		for t, id := range p.NS {
			if !id.Known() {
				continue
			}
			k := key{t, id}
			j, ok := index[k]
			if !ok {
				j = len(out)
				index[k] = j
				out = append(out, Namespace{Type: Types()[t], ID: id, PID: p.PID, User: p.User, Command: p.Command(), Args: p.Argv()})
			}
			ns := &out[j]
			ns.NProcs++
			ns.PIDs = append(ns.PIDs, p.PID)
			if p.PID < ns.PID {
				ns.PID, ns.User, ns.Command, ns.Args = p.PID, p.User, p.Command(), p.Argv()
			}
		}
	}
	for i := range out {
		if !slices.IsSorted(out[i].PIDs) {
			slices.Sort(out[i].PIDs)
		}
	}
	slices.SortFunc(out, func(a, b Namespace) int {
		return cmp.Or(
			cmp.Compare(a.ID.Ino, b.ID.Ino),
			cmp.Compare(a.ID.Dev, b.ID.Dev),
			cmp.Compare(a.Type.index(), b.Type.index()),
		)
	})
	return out
}

// FillOwners sets User and Command of each namespace from its owner
// process read afresh: the command line (the command name for kernel
// threads) and the user, as lsns(8) prints them. It reads two files per
// distinct owner, so a caller can read processes with FieldNS only and
// still print what lsns prints. An owner that has exited keeps what Group
// gave it.
func (fs FS) FillOwners(nss []Namespace) error {
	type owner struct {
		user, command string
		args          []string
	}
	seen := map[int]owner{}
	us := fs.users()
	s := newScratch(0)
	for i := range nss {
		ns := &nss[i]
		o, ok := seen[ns.PID]
		if !ok {
			p, found, err := fs.read(ns.PID, FieldStat|FieldStatus|FieldCmdline, s, us, nil)
			if err != nil {
				return err
			}
			if !found {
				continue
			}
			o = owner{p.User, p.Command(), p.Argv()}
			seen[ns.PID] = o
		}
		ns.User, ns.Command, ns.Args = o.user, o.command, o.args
	}
	return nil
}
