package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/names"
	"github.com/ctop-dev/ctop/nsinfo"
)

type nsOpts struct {
	typ  string
	json bool
	root string // "/" except in tests
}

func newNsCmd() *cobra.Command {
	o := nsOpts{root: "/"}
	cmd := &cobra.Command{
		Use:   "ns",
		Short: "List namespaces and the processes in them, as lsns does",
		Long: `List every namespace on the host: its inode number, its type, how many
processes are in it, and the lowest pid among them with its user and command.

A namespace gives the processes inside their own copy of one kind of kernel
resource, so they see only that copy:
  mnt     mount points: what the file system tree looks like
  pid     process ids: inside, the first process is pid 1 and sees no others
  net     network interfaces, addresses, routes, ports and firewall rules
  ipc     System V IPC objects and POSIX message queues
  uts     the host name and NIS domain name
  user    user and group ids: root inside can be an ordinary user outside
  cgroup  which cgroup directory looks like the root of the tree
  time    the boot-time and monotonic clocks
Every process is in exactly one namespace of each type. Most processes share
the host's (the initial namespaces, usually owned by pid 1, or by kthreadd,
pid 2, where pid 1 cannot be read); a container is a process with namespaces
of its own. Two processes share a namespace when /proc/PID/ns/TYPE of both
lead to the same nsfs inode (and device): NS below is that inode number.

NAME is what the lowest pid runs in: a docker or podman container, a pod's
container, a systemd unit or a ctop sandbox (- when none).

Without root only your own processes' namespaces can be read, so the counts
cover those; a note on stderr says how many processes were left out.`,
		Example: `  ctop ns                          # every namespace
  ctop ns --type net               # network namespaces only
  ctop ns --json | jq '.namespaces[] | select(.nprocs == 1)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var t nsinfo.Type
			if o.typ != "" {
				var err error
				if t, err = nsinfo.ParseType(o.typ); err != nil {
					return fmt.Errorf("invalid --type: %w", err)
				}
			}
			return runNs(cmd.OutOrStdout(), cmd.ErrOrStderr(), t, o)
		},
	}
	cmd.Flags().StringVarP(&o.typ, "type", "t", "", "only namespaces of this type: mnt, net, pid, uts, ipc, user, cgroup or time")
	cmd.Flags().BoolVar(&o.json, "json", false, `print JSON: {"namespaces": [{"type", "inode", "device", "nprocs", "pid", "user", "command", "command_line", "pids"}]} (docs/json.md)`)
	return cmd
}

// nsEntry is one namespace in the --json document, a flat list sorted by
// inode (lsns -J nests some namespaces under others; ctop does not): the
// namespace (docs/json.md), then what lsns -J says of it, nprocs, pid and
// user, its owner's command as an argument list and as a line, and pids,
// every member.
type nsEntry struct {
	namespaceJSON
	NProcs      int      `json:"nprocs"`
	PID         int      `json:"pid"`
	User        string   `json:"user"`
	Command     []string `json:"command"`
	CommandLine string   `json:"command_line"`
	PIDs        []int    `json:"pids"`
	// Name is what its lowest pid runs in: a container, pod, unit or
	// sandbox (null: nothing known).
	Name *names.Name `json:"name"`
}

func runNs(stdout, stderr io.Writer, t nsinfo.Type, o nsOpts) error {
	fs, err := nsinfo.Open(o.root)
	if err != nil {
		return err
	}
	procs, err := fs.ProcessesWith(nsinfo.FieldNS)
	if err != nil {
		return err
	}
	unreadable := 0
	for i := range procs {
		if procs[i].NS == (nsinfo.NSSet{}) {
			unreadable++
		}
	}
	all := nsinfo.Group(procs)
	nss := all[:0:0]
	for _, ns := range all {
		if t == "" || ns.Type == t {
			nss = append(nss, ns)
		}
	}
	if err := fs.FillOwners(nss); err != nil {
		return err
	}
	own := nsOwners(fs, nss)

	w := bufio.NewWriterSize(stdout, 64<<10)
	if o.json {
		doc := struct {
			Namespaces []nsEntry `json:"namespaces"`
		}{Namespaces: make([]nsEntry, len(nss))}
		for i, ns := range nss {
			doc.Namespaces[i] = nsEntry{namespaceJSON: nsJSON(ns.Type, ns.ID), NProcs: ns.NProcs,
				PID: ns.PID, User: ns.User, Command: ns.Args, CommandLine: ns.Command, PIDs: ns.PIDs}
			if n, ok := own[ns.PID]; ok {
				doc.Namespaces[i].Name = &n
			}
		}
		if err := json.NewEncoder(w).Encode(doc); err != nil {
			return err
		}
	} else {
		writeNsTable(w, nss, own)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if unreadable > 0 {
		hint := "run as root to count them"
		if os.Geteuid() == 0 {
			hint = "the kernel refused even root"
		}
		fmt.Fprintf(stderr, "ctop: the namespaces of %d of %d processes could not be read (%s)\n", unreadable, len(procs), hint)
	}
	return nil
}

// writeNsTable prints namespaces as lsns does: NS TYPE NPROCS PID USER
// COMMAND, with NAME before COMMAND: the container, pod, unit or sandbox its
// lowest pid runs in.
func writeNsTable(w *bufio.Writer, nss []nsinfo.Namespace, own map[int]names.Name) {
	userW, nameW := len("USER"), len("NAME")
	for _, ns := range nss {
		userW = max(userW, len(ns.User))
		nameW = max(nameW, len(own[ns.PID].String()))
	}
	fmt.Fprintf(w, "%10s %-6s %6s %7s %-*s %-*s %s\n", "NS", "TYPE", "NPROCS", "PID", userW, "USER", nameW, "NAME", "COMMAND")
	for _, ns := range nss {
		name := own[ns.PID].String()
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(w, "%10s %-6s %6s %7s %-*s %-*s %s\n", strconv.FormatUint(ns.ID.Ino, 10), ns.Type,
			strconv.Itoa(ns.NProcs), strconv.Itoa(ns.PID), userW, ns.User, nameW, name, ns.Command)
	}
}

// nsOwners names what each namespace's lowest pid runs in, reading the
// cgroup of those few processes only.
func nsOwners(fs nsinfo.FS, nss []nsinfo.Namespace) map[int]names.Name {
	cgOf := map[int]string{}
	var ps []string
	for _, ns := range nss {
		if _, done := cgOf[ns.PID]; done || ns.PID == 0 {
			continue
		}
		p, err := fs.Process(ns.PID)
		cg := ""
		if err == nil {
			cg = nsinfo.CgroupPath(p.Cgroups)
		}
		cgOf[ns.PID] = cg
		if cg != "" {
			ps = append(ps, cg)
		}
	}
	var r *names.Resolver
	if fs.Root() == "/" {
		r = newResolver("")
	} else {
		r = names.New(names.Options{Root: fs.Root(), Engines: []names.Engine{}})
	}
	byPath := r.Owners(ps)
	out := map[int]names.Name{}
	for pid, cg := range cgOf {
		if n, ok := byPath[cg]; ok {
			out[pid] = n
		}
	}
	return out
}
