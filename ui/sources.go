package ui

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ctop-dev/ctop/cgroup"
)

// The ui reads and acts through the small interfaces below, so every view can
// be driven by fakes in tests. cmd/ctop adapts the real cgroup, nsinfo and
// sandbox packages to them. All calls happen off the UI goroutine.

// GroupSource reads every cgroup of the host.
type GroupSource interface {
	// Snapshot reads every group, parents before children.
	Snapshot() (*cgroup.Snapshot, error)
	// Dir returns the host directory holding controller's files for the
	// group at path ("" controller: the v2 tree), for explanations.
	Dir(controller, path string) (string, bool)
}

// ProcSource lists processes with their namespaces. Implementations should
// read a process's namespaces only when it is new (its start time tells).
type ProcSource interface {
	Processes() (ProcTable, error)
}

// IsolationSource reads what isolates one process from the host.
type IsolationSource interface {
	Isolation(pid int) (Isolation, error)
}

// Launcher starts, lists and stops sandboxes.
type Launcher interface {
	Launch(SandboxSpec) (Sandbox, error)
	Stop(name string) error
	Sandboxes() ([]Sandbox, error)
	// Output returns the tail of what the sandbox wrote to stdout and stderr.
	Output(name string) (string, error)
	// Shell returns the command that runs an interactive shell inside the
	// sandbox (`ctop exec NAME -- /bin/sh`), for tea.Exec.
	Shell(name string) tea.ExecCommand
}

// LimitSetter changes limits of a sandbox or of any cgroup, as
// `ctop update` does, with the same flag names and validation.
type LimitSetter interface {
	// ValidateLimit checks one value as `ctop update --FLAG VALUE` would.
	ValidateLimit(flag, value string) error
	// Bytes reads a size as `ctop update --memory` does.
	Bytes(value string) (uint64, error)
	// SetLimits applies changes to target: a sandbox name or a cgroup path.
	SetLimits(target string, changes []LimitChange) error
}

// Sources bundles what the ui reads and acts through. Nil members make
// their views show that the information is unavailable.
type Sources struct {
	Groups    GroupSource
	Procs     ProcSource
	Isolation IsolationSource
	Launcher  Launcher
	Limits    LimitSetter
	Signals   Signaller
}

// Signaller sends signals, as kill(1) does. Implementations refuse pid 1
// and kernel threads themselves too: the ui's view of a pid may be stale.
type Signaller interface {
	// Signal sends sig to the process pid that started at start (its
	// Process.Start), not to another that took the pid since.
	Signal(pid int, start uint64, sig Signal) error
	// SignalSandbox sends sig to the first process of sandbox name.
	SignalSandbox(name string, sig Signal) error
}

// NSType is one of the 8 namespace types, in the order of NSTypes.
type NSType int

// The namespace types, see namespaces(7).
const (
	NSMnt NSType = iota
	NSPid
	NSNet
	NSIpc
	NSUts
	NSUser
	NSCgroup
	NSTime
	nsCount
)

// NSTypes lists the namespace types in display order.
var NSTypes = [nsCount]NSType{NSMnt, NSPid, NSNet, NSIpc, NSUts, NSUser, NSCgroup, NSTime}

var nsNames = [nsCount]string{"mnt", "pid", "net", "ipc", "uts", "user", "cgroup", "time"}

func (t NSType) String() string {
	if t < 0 || t >= nsCount {
		return "?"
	}
	return nsNames[t]
}

// NSID identifies a namespace: namespaces(7) says the (device, inode) pair
// of its /proc/PID/ns link does. A zero NSID means "could not be read".
type NSID struct {
	Dev, Ino uint64
}

// Known reports whether the namespace was read.
func (n NSID) Known() bool { return n.Ino != 0 }

// Process is one process as the ui shows it.
type Process struct {
	PID, PPID int
	// NSPid is the pid inside the process's own pid namespace (0: unknown).
	NSPid   int
	User    string
	Command string
	// Cgroup is the process's cgroup path (v2 path, or on v1 the path in the
	// hierarchy that carries memory, else cpu).
	Cgroup string
	// CPUTime is the cumulative user+system time; the ui turns it into a rate.
	CPUTime time.Duration
	// RSS is the resident memory in bytes.
	RSS uint64
	// Start orders processes and tells a reused pid from the same process.
	Start uint64
	// Kernel marks a kernel thread, which ctop does not signal.
	Kernel bool
	NS     [nsCount]NSID
}

// ProcTable is every process at one moment and the host's reference
// namespaces.
type ProcTable struct {
	Time  time.Time
	Procs []Process
	Host  [nsCount]NSID
	// HostFrom says which process the reference set was read from.
	HostFrom string
}

// Isolation is what separates one process from the host.
type Isolation struct {
	PID, NSPid int
	Command    string
	NS         [nsCount]NSID
	Host       [nsCount]NSID
	HostFrom   string
	Hostname   string
	Root       string
	UIDMap     string
	GIDMap     string
	Cgroup     string
}

// SandboxSpec is what the new-sandbox form collects; values are as the
// `ctop run` flags take them.
type SandboxSpec struct {
	Name       string
	Command    []string
	Namespaces []string // e.g. pid, mnt, uts, ipc, net, cgroup
	CPUs       string   // --cpus
	Memory     string   // --memory
	Pids       string   // --pids-limit
	WriteBps   string   // --device-write-bps DEVICE:RATE
	ReadBps    string   // --device-read-bps DEVICE:RATE
	Hostname   string
	Network    string // none or host
}

// Sandbox is a sandbox ctop launched.
type Sandbox struct {
	Name    string
	State   string // running, exited, ...
	PID     int
	Command string
	// Cgroup is the sandbox's cgroup path, the key into the cgroup snapshot.
	Cgroup  string
	Started time.Time
	// Limits summarises the limits it was started with, as flags.
	Limits string
}

// LimitChange is one `ctop update` flag and its new value.
type LimitChange struct {
	Flag, Value string
}
