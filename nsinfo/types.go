package nsinfo

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Type is a namespace type, named as in /proc/PID/ns and lsns(8). It is
// ctop's one name for a kind: sandbox creates them under it (and maps it to
// CLONE_NEW* there, beside the syscalls), the ui and metrics show them.
type Type string

// The namespace types of namespaces(7).
const (
	Mnt    Type = "mnt"    // mount points (CLONE_NEWNS)
	Net    Type = "net"    // network devices, addresses, routes, ports (CLONE_NEWNET)
	PID    Type = "pid"    // process ids (CLONE_NEWPID)
	UTS    Type = "uts"    // host name and NIS domain name (CLONE_NEWUTS)
	IPC    Type = "ipc"    // System V IPC and POSIX message queues (CLONE_NEWIPC)
	User   Type = "user"   // user and group ids, capabilities (CLONE_NEWUSER)
	Cgroup Type = "cgroup" // the cgroup root directory (CLONE_NEWCGROUP)
	Time   Type = "time"   // boottime and monotonic clocks (CLONE_NEWTIME)
)

// numTypes is the number of namespace types, the length of an NSSet.
const numTypes = 8

// Types returns the namespace types in the order lsns(8) lists them.
func Types() []Type {
	return []Type{Mnt, Net, PID, UTS, IPC, User, Cgroup, Time}
}

// index returns the position of t in Types(), or -1.
func (t Type) index() int {
	switch t {
	case Mnt:
		return 0
	case Net:
		return 1
	case PID:
		return 2
	case UTS:
		return 3
	case IPC:
		return 4
	case User:
		return 5
	case Cgroup:
		return 6
	case Time:
		return 7
	}
	return -1
}

// ParseType returns the Type named s, or an error wrapping ErrUnknownType
// that lists the accepted names.
func ParseType(s string) (Type, error) {
	t := Type(s)
	if t.index() < 0 {
		names := make([]string, 0, numTypes)
		for _, t := range Types() {
			names = append(names, string(t))
		}
		return "", fmt.Errorf("%w %q: accepted types are %s", ErrUnknownType, s, strings.Join(names, ", "))
	}
	return t, nil
}

// ID identifies one namespace: the device and inode number of its nsfs
// inode, the pair namespaces(7) names as a namespace's identity (two
// processes are in the same namespace exactly when their /proc/PID/ns links
// lead to the same pair). The zero ID means "unknown": the link could not
// be read.
//
// The inode comes from the link's text ("pid:[4026531836]", one
// readlinkat(2) per link); the device is the same for every namespace,
// because the kernel keeps them all on its single internal nsfs mount, and
// is read once per scan with stat(2) (see nsfsDev). In fixture trees the
// links are dangling symlinks to that text, so Dev is 0 there; IDs from one
// FS are always read the same way and compare correctly with each other.
type ID struct {
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
}

// Known reports whether the ID was read.
func (id ID) Known() bool { return id.Ino != 0 }

// String returns the inode number, as lsns and ps print it, or "?" when
// unknown.
func (id ID) String() string {
	if !id.Known() {
		return "?"
	}
	return strconv.FormatUint(id.Ino, 10)
}

// NSSet holds one ID per namespace type, indexed in Types() order; an
// unknown (zero) ID means that link could not be read. An array rather
// than a map, so that a process's set is one value that is compared with ==
// and copied without allocating; use Get and Set rather than indices. It
// marshals to JSON as an object keyed by type name, null where unknown.
type NSSet [numTypes]ID

// MarshalJSON writes {"mnt": {"dev": D, "ino": I}, ..., "time": null}.
func (s NSSet) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, t := range Types() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, t...)
		b = append(b, `":`...)
		if !s[i].Known() {
			b = append(b, "null"...)
			continue
		}
		b = append(b, `{"dev":`...)
		b = strconv.AppendUint(b, s[i].Dev, 10)
		b = append(b, `,"ino":`...)
		b = strconv.AppendUint(b, s[i].Ino, 10)
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// Get returns the ID of type t, the zero ID for an unknown type.
func (s *NSSet) Get(t Type) ID {
	if i := t.index(); i >= 0 {
		return s[i]
	}
	return ID{}
}

// Set records the ID of type t; an unknown type is ignored.
func (s *NSSet) Set(t Type, id ID) {
	if i := t.index(); i >= 0 {
		s[i] = id
	}
}

// Field names a part of a Process or an Isolation that is read from its own
// kernel file, so that it can be reported unavailable on its own.
type Field uint16

// The fields, each read from the file named in its comment.
const (
	FieldStat    Field = 1 << iota // /proc/PID/stat: PPID, Comm, StartTime
	FieldStatus                    // /proc/PID/status: UID, GID, User, NSpid
	FieldCgroups                   // /proc/PID/cgroup
	FieldNS                        // /proc/PID/ns/*: set when any link is unreadable
	FieldCmdline                   // /proc/PID/cmdline
	FieldUIDMap                    // /proc/PID/uid_map
	FieldGIDMap                    // /proc/PID/gid_map
	FieldRoot                      // /proc/PID/root
)

var fieldNames = []string{"stat", "status", "cgroups", "ns", "cmdline", "uid_map", "gid_map", "root"}

// Names returns the names of the fields set in f, in a fixed order.
func (f Field) Names() []string {
	var names []string
	for i, n := range fieldNames {
		if f&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return names
}

// MarshalJSON writes the names as a JSON array.
func (f Field) MarshalJSON() ([]byte, error) {
	names := f.Names()
	if names == nil {
		names = []string{}
	}
	return json.Marshal(names)
}

// String joins Names with ",".
func (f Field) String() string { return strings.Join(f.Names(), ",") }
