package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/names"
	"github.com/ctop-dev/ctop/nsinfo"
)

type psOpts struct {
	json bool
	root string // "/" except in tests
}

func newPsCmd() *cobra.Command {
	o := psOpts{root: "/"}
	cmd := &cobra.Command{
		Use:   "ps",
		Short: "List processes with their cgroup and namespaces, marking those not shared with the host",
		Long: `List every process with its pid, its pid inside its own pid namespace
(NSPID), its user, its cgroup, the inode of each of its 8 namespaces and its
command.

A container is not a virtual machine: it is an ordinary process of the host,
listed here like any other, that the kernel isolates with namespaces (what
it can see) and limits with a cgroup (what it can use). A namespace column
marked * differs from the host's, so the process sees its own mounts (MNTNS),
process ids (PIDNS; NSPID is then its pid in there, 1 for the container's
init), network (NETNS), host name (UTSNS), IPC objects (IPCNS), user ids
(USERNS), cgroup root (CGROUPNS) or clocks (TIMENS). The host's namespaces
are read from pid 1, or from the lowest readable process with parent 0
(kthreadd, pid 2) where pid 1 cannot be read; the first line names it.

CGROUP is the process's cgroup v2 path or, on v1 and hybrid hosts, its
deepest v1 path. NAME is what that group belongs to: a docker or podman
container's name (else runtime:short-id), a pod's namespace/pod/container, a
systemd unit or a ctop sandbox; - when none. Without root other users' namespaces cannot be read: they
show as ?.`,
		Example: `  ctop ps                          # every process
  ctop ps | grep '\*'              # processes with a namespace of their own
  ctop ps --json | jq '.processes[] | select(.namespaces.net.host == false) | .pid'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPs(cmd.OutOrStdout(), o)
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, `print JSON: {"reference": {...}, "processes": [...]}, every field of every process`)
	return cmd
}

// psNS is one namespace of a process in the --json document (a namespace
// as every listing writes it, docs/json.md); null when the link could not
// be read. Host is true when it is the reference's.
type psNS struct {
	namespaceJSON
	Host bool `json:"host"`
}

// psNamespaces holds a process's namespaces by type name.
type psNamespaces struct {
	Mnt    *psNS `json:"mnt"`
	Net    *psNS `json:"net"`
	PID    *psNS `json:"pid"`
	UTS    *psNS `json:"uts"`
	IPC    *psNS `json:"ipc"`
	User   *psNS `json:"user"`
	Cgroup *psNS `json:"cgroup"`
	Time   *psNS `json:"time"`
}

// at returns the field for the i-th type of nsinfo.Types().
func (n *psNamespaces) at(i int) **psNS {
	return [...]**psNS{&n.Mnt, &n.Net, &n.PID, &n.UTS, &n.IPC, &n.User, &n.Cgroup, &n.Time}[i]
}

// psProc is one process in the --json document. Fields that could not be
// read are listed in unavailable and hold null (nspid, namespaces) or -1
// (uid, gid).
type psProc struct {
	PID         int                  `json:"pid"`
	PPID        int                  `json:"ppid"`
	NSPID       *int                 `json:"nspid"`
	NSpidChain  []int                `json:"nspid_chain"`
	UID         int                  `json:"uid"`
	GID         int                  `json:"gid"`
	User        string               `json:"user"`
	Comm        string               `json:"comm"`
	StartTime   uint64               `json:"start_time"`
	Cgroup      string               `json:"cgroup"`
	Name        *names.Name          `json:"name"`
	Cgroups     []nsinfo.CgroupEntry `json:"cgroups"`
	Namespaces  psNamespaces         `json:"namespaces"`
	Unavailable []string             `json:"unavailable"`
}

// psRef is the reference set in the --json document.
type psRef struct {
	PID        int            `json:"pid"`
	Comm       string         `json:"comm"`
	From       map[string]int `json:"from"`
	Namespaces psNamespaces   `json:"namespaces"`
}

func runPs(stdout io.Writer, o psOpts) error {
	fs, err := nsinfo.Open(o.root)
	if err != nil {
		return err
	}
	procs, err := fs.Processes()
	if err != nil {
		return err
	}
	ref, err := nsinfo.Host(procs)
	if err != nil && !errors.Is(err, nsinfo.ErrNoReference) {
		return err
	}
	own := procOwners(o.root, procs)
	w := bufio.NewWriterSize(stdout, 256<<10)
	if o.json {
		err = writePsJSON(w, ref, procs, own)
	} else {
		err = writePsTable(w, ref, procs, own)
	}
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// psDoc builds the --json document with encoding/json's types; writePsJSON
// writes the same bytes' meaning faster, and a test holds the two equal.
func psDoc(ref nsinfo.Reference, procs []nsinfo.Process, own map[string]names.Name) any {
	doc := struct {
		Reference *psRef   `json:"reference"`
		Processes []psProc `json:"processes"`
	}{Reference: psReference(ref), Processes: make([]psProc, len(procs))}
	for k := range procs {
		p := &procs[k]
		j := &doc.Processes[k]
		*j = psProc{PID: p.PID, PPID: p.PPID, NSpidChain: p.NSpid, UID: p.UID, GID: p.GID, User: p.User,
			Comm: p.Comm, StartTime: p.StartTime, Cgroup: nsinfo.CgroupPath(p.Cgroups), Cgroups: p.Cgroups,
			Unavailable: psUnavailable(p)}
		if n, ok := own[j.Cgroup]; ok {
			j.Name = &n
		}
		if p.Unavailable&nsinfo.FieldStatus == 0 {
			own := p.OwnPID()
			j.NSPID = &own
		}
		for i, id := range p.NS {
			if id.Known() {
				*j.Namespaces.at(i) = &psNS{nsJSON(nsinfo.Types()[i], id), ref.NS[i] == id}
			}
		}
	}
	return doc
}

func psReference(ref nsinfo.Reference) *psRef {
	if ref.PID == 0 {
		return nil
	}
	r := &psRef{PID: ref.PID, Comm: ref.Comm, From: map[string]int{}}
	for i, t := range nsinfo.Types() {
		if id := ref.NS[i]; id.Known() {
			*r.Namespaces.at(i) = &psNS{nsJSON(t, id), true}
			r.From[string(t)] = ref.From[i]
		}
	}
	return r
}

// writePsJSON writes the document psDoc describes. It appends the bytes by
// hand: at thousands of processes encoding/json's reflection costs as much
// as reading /proc.
func writePsJSON(w io.Writer, ref nsinfo.Reference, procs []nsinfo.Process, own map[string]names.Name) error {
	head, err := json.Marshal(psReference(ref))
	if err != nil {
		return err
	}
	b := make([]byte, 0, 64<<10)
	b = append(b, `{"reference":`...)
	b = append(b, head...)
	b = append(b, `,"processes":[`...)
	types := nsinfo.Types()
	// ownJSON holds each owner's encoding: few owners, many processes.
	ownJSON := map[string][]byte{}
	for k := range procs {
		p := &procs[k]
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"pid":`...)
		b = strconv.AppendInt(b, int64(p.PID), 10)
		b = append(b, `,"ppid":`...)
		b = strconv.AppendInt(b, int64(p.PPID), 10)
		b = append(b, `,"nspid":`...)
		if p.Unavailable&nsinfo.FieldStatus == 0 {
			b = strconv.AppendInt(b, int64(p.OwnPID()), 10)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"nspid_chain":`...)
		b = appendInts(b, p.NSpid)
		b = append(b, `,"uid":`...)
		b = strconv.AppendInt(b, int64(p.UID), 10)
		b = append(b, `,"gid":`...)
		b = strconv.AppendInt(b, int64(p.GID), 10)
		b = append(b, `,"user":`...)
		b = appendString(b, p.User)
		b = append(b, `,"comm":`...)
		b = appendString(b, p.Comm)
		b = append(b, `,"start_time":`...)
		b = strconv.AppendUint(b, p.StartTime, 10)
		cg := nsinfo.CgroupPath(p.Cgroups)
		b = append(b, `,"cgroup":`...)
		b = appendString(b, cg)
		b = append(b, `,"name":`...)
		if n, ok := own[cg]; !ok {
			b = append(b, "null"...)
		} else {
			enc, done := ownJSON[cg]
			if !done {
				if enc, err = json.Marshal(n); err != nil {
					return err
				}
				ownJSON[cg] = enc
			}
			b = append(b, enc...)
		}
		b = append(b, `,"cgroups":`...)
		if p.Cgroups == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for i, c := range p.Cgroups {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"hierarchy":`...)
				b = strconv.AppendInt(b, int64(c.HierarchyID), 10)
				b = append(b, `,"controllers":`...)
				if c.Controllers == nil {
					b = append(b, "null"...)
				} else {
					b = append(b, '[')
					for j, s := range c.Controllers {
						if j > 0 {
							b = append(b, ',')
						}
						b = appendString(b, s)
					}
					b = append(b, ']')
				}
				b = append(b, `,"path":`...)
				b = appendString(b, c.Path)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, `,"namespaces":{`...)
		for i, id := range p.NS {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, types[i]...)
			b = append(b, `":`...)
			if !id.Known() {
				b = append(b, "null"...)
				continue
			}
			b = append(b, `{"type":"`...)
			b = append(b, types[i]...)
			b = append(b, `","inode":`...)
			b = strconv.AppendUint(b, id.Ino, 10)
			b = append(b, `,"device":`...)
			b = strconv.AppendUint(b, id.Dev, 10)
			b = append(b, `,"host":`...)
			b = strconv.AppendBool(b, ref.NS[i] == id)
			b = append(b, '}')
		}
		b = append(b, `},"unavailable":`...)
		if names := psUnavailable(p); names == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for i, n := range names {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, n)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
		if len(b) > 32<<10 {
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	b = append(b, "]}\n"...)
	_, err = w.Write(b)
	return err
}

// psUnavailable names the fields of p that could not be read; ps does not
// read command lines, so that one is not listed.
func psUnavailable(p *nsinfo.Process) []string {
	return (p.Unavailable &^ nsinfo.FieldCmdline).Names()
}

// appendInts appends a JSON array of ints, null for nil.
func appendInts(b []byte, v []int) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, n := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(n), 10)
	}
	return append(b, ']')
}

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json writes it.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\t':
				b = append(b, '\\', 't')
			case '\r':
				b = append(b, '\\', 'r')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func writePsTable(w io.Writer, ref nsinfo.Reference, procs []nsinfo.Process, own map[string]names.Name) error {
	if ref.PID != 0 {
		fmt.Fprintf(w, "# host namespaces: those of pid %d (%s)%s; * = not the host's, ? = unreadable\n",
			ref.PID, ref.Comm, refNote(ref))
	} else {
		fmt.Fprintln(w, "# host namespaces unknown: no process's namespaces were readable; ? = unreadable")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprint(tw, "PID\tNSPID\tUSER")
	for _, t := range nsinfo.Types() {
		fmt.Fprintf(tw, "\t%sNS", strings.ToUpper(string(t)))
	}
	fmt.Fprint(tw, "\tCGROUP\tNAME\tCOMMAND\n")
	var line []byte
	for k := range procs {
		p := &procs[k]
		line = strconv.AppendInt(line[:0], int64(p.PID), 10)
		line = append(line, '\t')
		if p.Unavailable&nsinfo.FieldStatus != 0 {
			line = append(line, "?\t?"...)
		} else {
			line = strconv.AppendInt(line, int64(p.OwnPID()), 10)
			line = append(line, '\t')
			line = append(line, p.User...)
		}
		for i, id := range p.NS {
			line = append(line, '\t')
			line = append(line, id.String()...)
			if id.Known() && ref.NS[i].Known() && id != ref.NS[i] {
				line = append(line, '*')
			}
		}
		line = append(line, '\t')
		cg := nsinfo.CgroupPath(p.Cgroups)
		if cg != "" {
			line = append(line, cg...)
		} else {
			line = append(line, '?')
		}
		line = append(line, '\t')
		if n, ok := own[cg]; ok {
			line = append(line, n.String()...)
		} else {
			line = append(line, '-')
		}
		line = append(line, '\t')
		line = append(line, p.Comm...)
		line = append(line, '\n')
		if _, err := tw.Write(line); err != nil {
			return err
		}
	}
	return tw.Flush()
}

// procOwners names what each process's cgroup belongs to (names.Owner):
// its container, pod, unit or sandbox. A fixture root has no engines and
// no sandboxes: only its kubelet files and paths name groups.
func procOwners(root string, procs []nsinfo.Process) map[string]names.Name {
	seen := map[string]bool{}
	var ps []string
	for k := range procs {
		if cg := nsinfo.CgroupPath(procs[k].Cgroups); cg != "" && !seen[cg] {
			seen[cg] = true
			ps = append(ps, cg)
		}
	}
	var r *names.Resolver
	if root == "/" {
		r = newResolver("")
	} else {
		r = names.New(names.Options{Root: root, Engines: []names.Engine{}})
	}
	return r.Owners(ps)
}

// refNote explains where the reference came from when it is not simply
// pid 1.
func refNote(ref nsinfo.Reference) string {
	var parts []string
	switch {
	case ref.PID != 1 && os.Geteuid() != 0:
		parts = append(parts, "not root, so the lowest-pid process you may read; run as root for the host's")
	case ref.PID != 1:
		parts = append(parts, "pid 1's are not readable here")
	}
	for i, t := range nsinfo.Types() {
		if ref.From[i] != 0 && ref.From[i] != ref.PID {
			parts = append(parts, fmt.Sprintf("%s from pid %d", t, ref.From[i]))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " - " + strings.Join(parts, ", ")
}
