package nsinfo

import (
	"bytes"
	"fmt"
	"strconv"
	"syscall"
)

// NSDiff compares one namespace of a process with the host's.
type NSDiff struct {
	Type Type `json:"type"`
	// Host is the reference namespace, Proc the process's; either is the
	// zero ID when unknown.
	Host ID `json:"host"`
	Proc ID `json:"proc"`
	// Known is false when either side could not be read; Shared is then
	// meaningless and false.
	Known  bool `json:"known"`
	Shared bool `json:"shared"`
}

// IDMapEntry is one line of /proc/PID/uid_map or gid_map
// (user_namespaces(7)): Count ids starting at Inside in the process's user
// namespace are ids starting at Outside in the namespace of the reader.
type IDMapEntry struct {
	Inside  uint64 `json:"inside"`
	Outside uint64 `json:"outside"`
	Count   uint64 `json:"count"`
}

// Isolation is how one process is isolated from the host: which of its
// namespaces it shares with the reference set, its cgroups, its uid and
// gid mappings and its root directory.
type Isolation struct {
	PID int `json:"pid"`
	// Reference is the pid the host namespaces were read from.
	Reference  int           `json:"reference"`
	Namespaces []NSDiff      `json:"namespaces"`
	Cgroups    []CgroupEntry `json:"cgroups"`
	// UIDMap and GIDMap: in the initial user namespace both are the
	// identity "0 0 4294967295".
	UIDMap []IDMapEntry `json:"uid_map"`
	GIDMap []IDMapEntry `json:"gid_map"`
	// Root is the process's root directory as the reader sees it: "/" unless
	// the process is chrooted or pivoted into a tree the reader can name.
	Root string `json:"root"`
	// Unavailable lists what could not be read: FieldNS when any namespace
	// is unknown, FieldCgroups, FieldUIDMap, FieldGIDMap, FieldRoot.
	Unavailable Field `json:"unavailable"`
}

// Diff compares p's namespaces with the reference set, and reads p's uid
// and gid maps and root directory. Whatever cannot be read (another user's
// process, without root; a process that has exited) is marked unavailable.
// It returns an error only for a map file that does not parse.
func (fs FS) Diff(ref Reference, p Process) (Isolation, error) {
	iso := Isolation{PID: p.PID, Reference: ref.PID, Cgroups: p.Cgroups, Unavailable: p.Unavailable & FieldCgroups}
	for i, t := range Types() {
		d := NSDiff{Type: t, Host: ref.NS[i], Proc: p.NS[i]}
		d.Known = d.Host.Known() && d.Proc.Known()
		d.Shared = d.Known && d.Host == d.Proc
		if !d.Known {
			iso.Unavailable |= FieldNS
		}
		iso.Namespaces = append(iso.Namespaces, d)
	}
	s := newScratch(0)
	for _, m := range []struct {
		name string
		f    Field
		dst  *[]IDMapEntry
	}{{"uid_map", FieldUIDMap, &iso.UIDMap}, {"gid_map", FieldGIDMap, &iso.GIDMap}} {
		path := s.procPath(fs.proc, p.PID, m.name)
		b, err := s.readFile(path)
		if err != nil {
			iso.Unavailable |= m.f
			continue
		}
		if *m.dst, err = parseIDMap(b); err != nil {
			return Isolation{}, fmt.Errorf("parse %s: %w", path, err)
		}
	}
	var buf [4096]byte
	n, err := syscall.Readlink(s.procPath(fs.proc, p.PID, "root"), buf[:])
	if err != nil {
		iso.Unavailable |= FieldRoot
	} else {
		iso.Root = string(buf[:n])
	}
	return iso, nil
}

// parseIDMap parses uid_map or gid_map: lines of three numbers.
func parseIDMap(b []byte) ([]IDMapEntry, error) {
	out := []IDMapEntry{}
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("%w: %q is not \"inside outside count\"", ErrParse, line)
		}
		var v [3]uint64
		for i := range f {
			n, err := strconv.ParseUint(string(f[i]), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%w: %q is not \"inside outside count\"", ErrParse, line)
			}
			v[i] = n
		}
		out = append(out, IDMapEntry{Inside: v[0], Outside: v[1], Count: v[2]})
	}
	return out, nil
}
