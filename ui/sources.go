package ui

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/names"
	"github.com/ctop-dev/ctop/netinfo"
	"github.com/ctop-dev/ctop/nsinfo"
	"github.com/ctop-dev/ctop/sandbox"
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
// The Procs of a table may be reused by the next call: the ui copies them
// before it asks again.
type ProcSource interface {
	Processes() (ProcTable, error)
}

// IsolationSource reads what isolates one process from the host.
type IsolationSource interface {
	Isolation(pid int) (Isolation, error)
}

// Launcher starts, lists and stops sandboxes.
type Launcher interface {
	// Launch starts a sandbox detached; the spec was filled through
	// sandbox's option table, as ctop run fills it.
	Launch(sandbox.Spec) (Sandbox, error)
	Stop(name string) error
	Sandboxes() ([]Sandbox, error)
	// Output returns the tail of what the sandbox wrote to stdout and stderr.
	Output(name string) (string, error)
	// Shell returns the command that runs an interactive shell inside the
	// sandbox (`ctop exec NAME -- /bin/sh`), for tea.Exec.
	Shell(name string) tea.ExecCommand
}

// LimitSetter changes limits of a sandbox or of any cgroup, as
// `ctop update` does.
type LimitSetter interface {
	// SetLimits writes r to target: a sandbox name or a cgroup path.
	SetLimits(target string, r cgroup.Resources) error
}

// LimitChecker is a LimitSetter that can tell, before the form opens,
// that a group's limits are not the user's to change (ctop without root
// may change only those of the subtree delegated to it).
type LimitChecker interface {
	CanSetLimits(path string) error
}

// NameSource says what runs in groups: the container, pod, unit or
// sandbox (package names). It is asked every sample for the groups shown;
// implementations keep what they learnt, asking an engine only about ids
// not seen before.
type NameSource interface {
	// Names returns the names known for paths, keyed by path.
	Names(paths []string) map[string]names.Name
}

// NetSource reads every network namespace's interfaces, with their veth
// peers and bridges (package netinfo), and names what each namespace
// belongs to. It is asked only while the Networks view is shown.
type NetSource interface {
	Networks() (NetTable, error)
}

// NetTable is every network namespace at one moment.
type NetTable struct {
	// Snap holds the namespaces in the order they are shown: the host's
	// first.
	Snap *netinfo.Snapshot
	// Owners labels each namespace: "host", a container, pod or sandbox,
	// "netns:NAME" for one kept by ip netns or docker, "pid N".
	Owners map[nsinfo.ID]string
}

// Sources bundles what the ui reads and acts through. Nil members make
// their views show that the information is unavailable.
type Sources struct {
	Groups    GroupSource
	Procs     ProcSource
	Isolation IsolationSource
	Launcher  Launcher
	Limits    LimitSetter
	Names     NameSource
	Net       NetSource
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
	NS     nsinfo.NSSet
}

// ProcTable is every process at one moment and the host's reference
// namespaces.
type ProcTable struct {
	Time  time.Time
	Procs []Process
	Host  nsinfo.NSSet
	// HostFrom says which process the reference set was read from.
	HostFrom string
}

// Isolation is what separates one process from the host.
type Isolation struct {
	PID, NSPid int
	Command    string
	NS         nsinfo.NSSet
	Host       nsinfo.NSSet
	HostFrom   string
	Hostname   string
	Root       string
	UIDMap     string
	GIDMap     string
	Cgroup     string
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
	// Manager is who made its cgroup: systemd (a scope) or cgroupfs.
	Manager string
}
