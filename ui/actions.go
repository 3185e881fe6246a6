package ui

import (
	"fmt"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/nsinfo"
)

// launchedMsg reports a sandbox launch.
type launchedMsg struct {
	sb  Sandbox
	err error
}

// limitsSetMsg reports a limit change.
type limitsSetMsg struct {
	target string
	err    error
}

// stoppedMsg reports a stopped sandbox.
type stoppedMsg struct {
	name string
	err  error
}

// outputMsg carries a sandbox's output.
type outputMsg struct {
	name, text string
	err        error
}

// shellDoneMsg arrives when the interactive shell exits.
type shellDoneMsg struct{ err error }

// newSandboxForm is the form that launches a sandbox.
func newSandboxForm(ctx *Context) form {
	return newForm(ctx, "New sandbox (launched detached, in new namespaces with cgroup limits)",
		newField("command", "command", "sleep infinity", "what to run; quote arguments with spaces"),
		newField("name", "name", "", "empty: a generated name; no / or .."),
		newField("namespaces", "ns", "pid,mnt,uts,ipc,net,cgroup", "new namespaces, of: mnt pid net ipc uts user cgroup time"),
		newField("cpus", "cpus", "", "CPU quota in CPUs, e.g. 0.5 (empty: no limit)"),
		newField("memory", "memory", "", "e.g. 64m, 1g (empty: no limit)"),
		newField("pids limit", "pids-limit", "", "most tasks at once, e.g. 100"),
		newField("write bps", "device-write-bps", "", "DEVICE:RATE, e.g. /dev/sda:1mb"),
		newField("read bps", "device-read-bps", "", "DEVICE:RATE, e.g. /dev/sda:10mb"),
		newField("hostname", "hostname", "", "the hostname inside (needs a uts namespace)"),
		newField("network", "network", "none", "none: only loopback; host: the host's network", "none", "host"),
	)
}

// validateSandbox checks the form as `ctop run` would, marking each bad
// field; it returns the spec when all is well.
func validateSandbox(f *form, ls LimitSetter) (SandboxSpec, bool) {
	f.clearErrs()
	spec := SandboxSpec{
		Name:     f.get("name"),
		Command:  splitCommand(f.get("command")),
		CPUs:     f.get("cpus"),
		Memory:   f.get("memory"),
		Pids:     f.get("pids-limit"),
		WriteBps: f.get("device-write-bps"),
		ReadBps:  f.get("device-read-bps"),
		Hostname: f.get("hostname"),
		Network:  f.get("network"),
	}
	if len(spec.Command) == 0 {
		f.setErr("command", "a command is needed, e.g. sleep infinity")
	}
	if strings.Contains(spec.Name, "/") || strings.Contains(spec.Name, "..") {
		f.setErr("name", fmt.Sprintf("name %q may not contain / or ..", spec.Name))
	}
	for _, n := range strings.FieldsFunc(f.get("ns"), func(r rune) bool { return r == ',' || r == ' ' }) {
		if _, err := nsinfo.ParseType(n); err != nil {
			f.setErr("ns", fmt.Sprintf("unknown namespace %q: use mnt, pid, net, ipc, uts, user, cgroup or time", n))
			break
		}
		spec.Namespaces = append(spec.Namespaces, n)
	}
	if ls != nil {
		for _, flag := range []string{"cpus", "memory", "pids-limit", "device-write-bps", "device-read-bps"} {
			if v := f.get(flag); v != "" {
				if err := ls.ValidateLimit(flag, v); err != nil {
					f.setErr(flag, err.Error())
				}
			}
		}
	}
	if spec.Hostname != "" && !strings.Contains(","+f.get("ns")+",", ",uts,") {
		f.setErr("hostname", "a hostname needs a new uts namespace: add uts to namespaces")
	}
	return spec, !f.hasErrs()
}

// sizeString writes bytes as docker's units when exact: 256m, 1g.
func sizeString(n uint64) string {
	for _, u := range []struct {
		s string
		v uint64
	}{{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
		if n >= u.v && n%u.v == 0 {
			return strconv.FormatUint(n/u.v, 10) + u.s
		}
	}
	return strconv.FormatUint(n, 10)
}

// limitsForm is the form that edits a group's limits, filled with the
// current values.
func limitsForm(ctx *Context, g *cgroup.Group, target string) form {
	l := g.Limits
	// Values are written as the CLI takes them: --cpus 0 and
	// --pids-limit -1 mean no limit; an empty memory is left as it is.
	cpus := "0"
	if c := l.CPU.Cores(); c > 0 {
		cpus = cores(c)
	}
	mem := ""
	if l.Memory.Max.Finite() {
		mem = sizeString(l.Memory.Max.V)
	}
	pids := "-1"
	if l.Pids.Finite() {
		pids = strconv.FormatUint(l.Pids.V, 10)
	}
	var wbps, rbps string
	for _, io := range l.IO {
		if io.WriteBps.Finite() && wbps == "" {
			wbps = io.Device.String() + ":" + strconv.FormatUint(io.WriteBps.V, 10)
		}
		if io.ReadBps.Finite() && rbps == "" {
			rbps = io.Device.String() + ":" + strconv.FormatUint(io.ReadBps.V, 10)
		}
	}
	return newForm(ctx, "Edit limits of "+target+" (applied at once, as `ctop update` does)",
		newField("cpus", "cpus", cpus, "CPU quota in CPUs, e.g. 0.5; 0: no limit"),
		newField("memory", "memory", mem, "memory.max, e.g. 64m (now "+limitBytes(l.Memory.Max)+"); in use: "+u64Bytes(g.Stats.Memory.Current)),
		newField("pids limit", "pids-limit", pids, "most tasks at once; -1: no limit"),
		newField("write bps", "device-write-bps", wbps, "DEVICE:RATE, e.g. /dev/sda:1mb"),
		newField("read bps", "device-read-bps", rbps, "DEVICE:RATE"),
	)
}

// limitChanges validates the changed fields of a limits form.
func limitChanges(f *form, ls LimitSetter) ([]LimitChange, bool) {
	f.clearErrs()
	var ch []LimitChange
	for _, fl := range f.fields {
		if fl.value() == strings.TrimSpace(fl.initial) {
			continue
		}
		if err := ls.ValidateLimit(fl.flag, fl.value()); err != nil {
			f.setErr(fl.flag, err.Error())
			continue
		}
		ch = append(ch, LimitChange{Flag: fl.flag, Value: fl.value()})
	}
	if !f.hasErrs() && len(ch) == 0 {
		f.err = "nothing changed"
	}
	return ch, !f.hasErrs()
}

// confirm is a yes/no question; yes runs cmd.
type confirm struct {
	question string
	yes      tea.Cmd
}
