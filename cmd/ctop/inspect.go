package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/names"
	"github.com/ctop-dev/ctop/nsinfo"
)

func newInspectCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect PID|NAME",
		Short: "Show how one process is isolated from the host, and the limits in effect",
		Long: `Show how process PID differs from the host: for each of the 8 namespaces
(mnt, pid, net, ipc, uts, user, cgroup, time) whether it shares the host's or
has its own, its pid in its pid namespace (the host's or its own), its
uid/gid mapping, its root directory, its cgroup in every hierarchy, and the
limits that apply to it - the tightest on the path from the root cgroup down
to its own, the cpuset and IO throttles included.

A container is an ordinary process with some namespaces of its own (what it
can see) and a cgroup with limits (what it can use). The host's namespaces are
read from pid 1 or, where that is not readable, from kthreadd (pid 2); the
output names the process they came from.

NAME is a docker or podman container's name or short id, a systemd unit, a
pod's namespace/name or a sandbox's name: its lowest pid is inspected. The
output says which container, pod or unit the process runs in.`,
		Example: `  ctop inspect $$                  # this shell
  ctop inspect $(pgrep -n sleep) --json
  ctop inspect shop-web-1           # a docker container's first process`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pid, err := strconv.Atoi(args[0])
			if err != nil {
				// A container's, unit's or sandbox's name: its first process.
				pid, err = pidOfName(args[0])
				if err != nil {
					return fmt.Errorf("invalid PID %q, and not a name: %w", args[0], err)
				}
			}
			if pid <= 0 {
				return fmt.Errorf("invalid PID %q: want a process id such as 1234", args[0])
			}
			return runInspect(cmd.OutOrStdout(), pid, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// inspectJSON is the --json document of inspect.
type inspectJSON struct {
	PID     int      `json:"pid"`
	NSPID   int      `json:"nspid"`
	Argv    []string `json:"command"`
	Command string   `json:"command_line"`
	User    string   `json:"user"`
	// Reference names the process the host's namespaces were read from.
	Reference struct {
		PID  int    `json:"pid"`
		Comm string `json:"comm"`
	} `json:"reference"`
	nsinfo.Isolation
	// Seccomp is the process's seccomp mode and filters.
	Seccomp nsinfo.Seccomp `json:"seccomp"`
	// NS is Isolation's Namespaces as JSON writes them: the process's
	// and the host's namespace of each type (docs/json.md), null where
	// unreadable, and whether they are the same (null: unknown).
	NS          []inspectNS     `json:"namespaces"`
	Unavailable []string        `json:"unavailable"`
	Limits      []limitsInForce `json:"limits"`
	// Name is what the process runs in (its container, pod, unit or
	// sandbox) and NameCgroup the group that names it.
	Name       *names.Name `json:"name"`
	NameCgroup *string     `json:"name_cgroup"`
}

// inspectNS compares one namespace of the process with the host's.
type inspectNS struct {
	Type    nsinfo.Type    `json:"type"`
	Process *namespaceJSON `json:"process"`
	Host    *namespaceJSON `json:"host"`
	Shared  *bool          `json:"shared"`
}

// limitsInForce is one controller's cgroup of the process and what it
// limits.
type limitsInForce struct {
	Controller string           `json:"controller"`
	Cgroup     string           `json:"cgroup"`
	Limits     cgroup.Limits    `json:"limits"`
	Effective  cgroup.Effective `json:"effective"`
	Memory     cgroup.U64       `json:"memory_current"`
	WorkingSet cgroup.U64       `json:"memory_working_set"`
}

func runInspect(stdout io.Writer, pid int, asJSON bool) error {
	nfs, err := nsinfo.Open("/")
	if err != nil {
		return err
	}
	p, err := nfs.Process(pid)
	if errors.Is(err, nsinfo.ErrNoProcess) {
		return fmt.Errorf("no process %d (it may have exited)", pid)
	}
	if err != nil {
		return err
	}
	all, err := nfs.ProcessesWith(nsinfo.FieldStat | nsinfo.FieldNS)
	if err != nil {
		return err
	}
	ref, err := nsinfo.Host(all)
	if err != nil {
		return err
	}
	iso, err := nfs.Diff(ref, p)
	if err != nil {
		return err
	}
	doc := inspectJSON{PID: p.PID, NSPID: p.OwnPID(), Argv: p.Argv(), Command: p.Command(), User: p.User, Isolation: iso,
		Seccomp: p.Seccomp, Unavailable: iso.Unavailable.Names()}
	for _, d := range iso.Namespaces {
		n := inspectNS{Type: d.Type, Process: nsPtr(d.Type, d.Proc), Host: nsPtr(d.Type, d.Host)}
		if d.Known {
			n.Shared = &d.Shared
		}
		doc.NS = append(doc.NS, n)
	}
	doc.Reference.PID, doc.Reference.Comm = ref.PID, ref.Comm
	doc.Limits = limitsOf(p)
	if cg := nsinfo.CgroupPath(p.Cgroups); cg != "" {
		r := newResolver("")
		if n, at := names.Owner(cg, r.Names(names.Ancestors([]string{cg}))); n.Known() {
			doc.Name, doc.NameCgroup = &n, &at
		}
	}

	w := bufio.NewWriter(stdout)
	defer w.Flush()
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	writeInspect(w, doc)
	return nil
}

// limitsOf reads, for each resource controller, the group that holds p and
// its limits and effective limits.
func limitsOf(p nsinfo.Process) []limitsInForce {
	cfs, err := cgroup.Open("/")
	if err != nil {
		return nil
	}
	var out []limitsInForce
	for _, ctrl := range []string{"cpu", "cpuset", "memory", "pids", "io", "blkio"} {
		path, ok := "", false
		for _, e := range p.Cgroups {
			if (cfs.Mode() == cgroup.ModeUnified && e.HierarchyID == 0) || slices.Contains(e.Controllers, ctrl) {
				path, ok = e.Path, true
				break
			}
		}
		if _, has := cfs.Hierarchy(ctrl); !ok || !has {
			continue
		}
		g, err := cfs.Read(path)
		if g == nil {
			_ = err
			continue
		}
		out = append(out, limitsInForce{Controller: ctrl, Cgroup: path, Limits: g.Limits, Effective: g.Effective,
			Memory: g.Stats.Memory.Current, WorkingSet: g.Stats.Memory.WorkingSet})
	}
	return out
}

func writeInspect(w io.Writer, d inspectJSON) {
	fmt.Fprintf(w, "process %d (%s), user %s, %s\n", d.PID, d.Command, d.User, pidNSText(d))
	if d.Name != nil {
		fmt.Fprintf(w, "runs in %s, cgroup %s\n", d.Name.Describe(), *d.NameCgroup)
	}
	fmt.Fprintf(w, "host namespaces read from pid %d (%s)\n\n", d.Reference.PID, d.Reference.Comm)
	own, known := 0, 0
	fmt.Fprintf(w, "%-7s %-9s %-12s %s\n", "NS", "ISOLATED", "PROCESS", "HOST")
	for _, n := range d.Namespaces {
		iso := "no"
		switch {
		case !n.Known:
			iso = "?"
		case !n.Shared:
			iso, own = "yes", own+1
		}
		if n.Known {
			known++
		}
		fmt.Fprintf(w, "%-7s %-9s %-12s %s\n", n.Type, iso, n.Proc, n.Host)
	}
	switch {
	case known == 0:
		fmt.Fprintln(w, "  its namespaces could not be read (another user's process needs root; some processes refuse even root)")
	case own == 0:
		fmt.Fprintln(w, "  shares every readable namespace with the host: it sees what the host sees")
	default:
		fmt.Fprintf(w, "  has %d namespace(s) of its own: in those it sees its own view, not the host's\n", own)
	}
	fmt.Fprintln(w)
	root := d.Root
	if root == "" {
		root = "?"
	}
	fmt.Fprintf(w, "root     %s\n", root)
	fmt.Fprintf(w, "uid_map  %s\n", idMap(d.UIDMap))
	fmt.Fprintf(w, "gid_map  %s\n", idMap(d.GIDMap))
	fmt.Fprintf(w, "seccomp  %s\n", d.Seccomp)
	fmt.Fprintln(w, "\ncgroups")
	for _, c := range d.Cgroups {
		name := strings.Join(c.Controllers, ",")
		if c.HierarchyID == 0 && name == "" {
			name = "(v2)"
		}
		fmt.Fprintf(w, "  %-14s %s\n", name, c.Path)
	}
	fmt.Fprintln(w, "\nlimits in effect (tightest on the path to the root)")
	for _, l := range d.Limits {
		switch l.Controller {
		case "cpu":
			fmt.Fprintf(w, "  cpu     %s CPUs%s   own quota %s\n", cores(l.Effective.Cores), from(l.Effective.CoresFrom), cores(l.Limits.CPU.Cores()))
		case "cpuset":
			fmt.Fprintf(w, "  cpuset  cpus %s  mems %s\n", cpusetText(l.Limits.CPU.Cpus, l.Limits.CPU.EffectiveCpus),
				cpusetText(l.Limits.CPU.Mems, l.Limits.CPU.EffectiveMems))
		case "memory":
			ws := ""
			if l.WorkingSet.OK {
				ws = ", working set " + u64Bytes(l.WorkingSet)
			}
			fmt.Fprintf(w, "  memory  %s%s   in use %s%s\n", limitBytes(l.Effective.Memory), from(l.Effective.MemFrom), u64Bytes(l.Memory), ws)
		case "pids":
			fmt.Fprintf(w, "  pids    %s%s\n", limitNum(l.Effective.Pids), from(l.Effective.PidsFrom))
		case "io", "blkio":
			if len(l.Limits.IO) == 0 {
				fmt.Fprintf(w, "  io      no throttle on %s\n", l.Cgroup)
			}
			for _, t := range l.Limits.IO {
				fmt.Fprintf(w, "  io      %s rbps=%s wbps=%s riops=%s wiops=%s\n", t.Device, t.ReadBps, t.WriteBps, t.ReadIOps, t.WriteIOps)
			}
		}
	}
	if len(d.Unavailable) > 0 {
		fmt.Fprintf(w, "\nnot readable: %s (run as root to see them)\n", strings.Join(d.Unavailable, ", "))
	}
}

// pidNSText says which pid the process has in its pid namespace, and
// whether that is the host's.
func pidNSText(d inspectJSON) string {
	for _, n := range d.Namespaces {
		if n.Type != nsinfo.PID || !n.Known {
			continue
		}
		if n.Shared {
			return fmt.Sprintf("pid %d in the host's pid namespace", d.NSPID)
		}
		return fmt.Sprintf("pid %d inside its own pid namespace", d.NSPID)
	}
	return fmt.Sprintf("pid %d in its pid namespace (whether the host's could not be read)", d.NSPID)
}

// cpusetText is a cpuset as configured and, when the kernel grants less
// or it is inherited (""), what is in effect.
func cpusetText(set, effective string) string {
	switch {
	case set == "" && effective == "":
		return "-"
	case set == "":
		return effective + " (inherited)"
	case effective != "" && effective != set:
		return set + " (in effect " + effective + ")"
	}
	return set
}

// pidOfName finds the lowest pid of the group a name names.
func pidOfName(name string) (int, error) {
	f, err := cgroup.Open("/")
	if err != nil {
		return 0, err
	}
	p, err := groupOf(f, newResolver(""), name)
	if err != nil {
		return 0, err
	}
	m, err := cgroup.Load(f, p)
	if err != nil {
		return 0, err
	}
	return m.FirstPid()
}

func from(p string) string {
	if p == "" {
		return ""
	}
	return " (set at " + p + ")"
}

func idMap(m []nsinfo.IDMapEntry) string {
	if len(m) == 0 {
		return "?"
	}
	if len(m) == 1 && m[0].Inside == 0 && m[0].Outside == 0 && m[0].Count == 4294967295 {
		return "0 0 4294967295 (identity: the host's user namespace)"
	}
	var s []string
	for _, e := range m {
		s = append(s, fmt.Sprintf("%d->%d x%d", e.Inside, e.Outside, e.Count))
	}
	return strings.Join(s, ", ") + " (inside->outside x count)"
}
