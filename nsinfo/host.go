package nsinfo

import (
	"fmt"
	"slices"
)

// Reference is the host's reference set: the namespaces the system started
// with, against which a process's isolation is judged, and the processes
// they were read from.
type Reference struct {
	// NS holds the reference namespace of each type; unknown where no
	// process's link of that type could be read.
	NS NSSet
	// PID and Comm name the process most of NS came from.
	PID  int
	Comm string
	// From is, per type in Types() order, the pid that type's ID was read
	// from (0 where unknown); it differs from PID only when the first
	// candidate could not be read for every type.
	From [numTypes]int
}

// Host picks the host's reference set from procs.
//
// The initial namespaces are those of pid 1, but pid 1's links are not
// always readable: on some hosts even root is refused readlink and stat of
// /proc/1/ns/* (a Firecracker VM's init, for example), and without root
// every other user's processes are refused. So the candidates are taken in
// this order, and each type comes from the first candidate whose link of
// that type could be read:
//
//  1. processes whose parent pid is 0, lowest pid first: init (pid 1) and
//     kthreadd (pid 2), whose kernel threads always live in the initial
//     namespaces; inside a container that has its own pid namespace, only
//     the container's init has parent 0 in its view, so the container's
//     own namespaces become the reference, which is what it can compare to;
//  2. then every other process, lowest pid first, as lsns(8) picks owners.
//     Without root this is usually the caller's session manager or shell.
//
// The rule needs each process's PPID, so procs must have been read with
// FieldStat (Processes does); without it every process counts as a
// candidate of the first kind and the lowest readable pid wins, which is
// still kthreadd where pid 1 is refused.
//
// It returns an error wrapping ErrNoReference when no process had a
// readable link at all.
func Host(procs []Process) (Reference, error) {
	ps := make([]*Process, len(procs))
	for i := range procs {
		ps[i] = &procs[i]
	}
	return host(ps)
}

// Host picks the host's reference set from the processes of the sample,
// as the function Host does.
func (s Sample) Host() (Reference, error) {
	ps := make([]*Process, len(s.Procs))
	for i, t := range s.Procs {
		ps[i] = t.Process
	}
	return host(ps)
}

// host is Host over pointers to the processes.
func host(procs []*Process) (Reference, error) {
	cands := make([]*Process, 0, len(procs))
	for _, p := range procs {
		if p.PPID == 0 {
			cands = append(cands, p)
		}
	}
	slices.SortFunc(cands, func(a, b *Process) int { return a.PID - b.PID })
	n := len(cands)
	for _, p := range procs {
		if p.PPID != 0 {
			cands = append(cands, p)
		}
	}
	slices.SortFunc(cands[n:], func(a, b *Process) int { return a.PID - b.PID })

	var ref Reference
	count := map[int]int{}
	for t := range numTypes {
		for _, p := range cands {
			if p.NS[t].Known() {
				ref.NS[t], ref.From[t] = p.NS[t], p.PID
				count[p.PID]++
				break
			}
		}
	}
	for _, p := range cands {
		if c := count[p.PID]; c > count[ref.PID] {
			ref.PID, ref.Comm = p.PID, p.Comm
		}
	}
	if ref.PID == 0 {
		return Reference{}, fmt.Errorf("choose the host reference among %d processes: %w (run as root to read other users' processes)", len(procs), ErrNoReference)
	}
	return ref, nil
}
