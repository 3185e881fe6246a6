package ui

import (
	"errors"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/sandbox"
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

// newSandboxForm is the form that launches a sandbox: the command, then
// some of ctop run's options, from sandbox's option table.
func newSandboxForm(ctx *Context) form {
	fields := []field{newField("command", "command", "sleep infinity", "what to run; quote arguments with spaces")}
	for _, name := range []string{"name", "ns", "cpus", "memory", "pids-limit", "device-write-bps", "device-read-bps", "hostname", "network"} {
		o := sandbox.Lookup(name)
		fields = append(fields, optionField(o, o.Default))
	}
	return newForm(ctx, "New sandbox (launched detached, in new namespaces with cgroup limits)", fields...)
}

// validateSandbox checks the form through the option table, as ctop run
// does, marking each bad field; it returns the spec when all is well.
func validateSandbox(f *form) (sandbox.Spec, bool) {
	f.clearErrs()
	cmd := splitCommand(f.get("command"))
	if len(cmd) == 0 {
		f.setErr("command", "a command is needed, e.g. sleep infinity")
	}
	run, err := sandbox.ParseRun(formGiven(f, false))
	markErrs(f, err)
	run.Spec.Command = cmd
	return run.Spec, !f.hasErrs()
}

// formGiven are the options the form's fields give: those not empty, and
// with changed only those changed.
func formGiven(f *form, changed bool) sandbox.Given {
	g := sandbox.Given{}
	for _, fl := range f.fields {
		v := fl.value()
		if fl.opt == nil || v == "" || changed && v == strings.TrimSpace(fl.initial) {
			continue
		}
		if fl.opt.Kind == sandbox.KindStrings {
			g[fl.flag] = strings.Fields(v)
		} else {
			g[fl.flag] = []string{v}
		}
	}
	return g
}

// markErrs shows each option's error beside its field, others under the
// form.
func markErrs(f *form, err error) {
	var errs sandbox.OptionErrors
	switch {
	case err == nil:
	case errors.As(err, &errs):
		for _, e := range errs {
			f.setErr(e.Name, e.Error())
		}
	default:
		f.err = err.Error()
	}
}

// limitsForm is the form that edits a group's limits: every option of
// ctop update, filled with the values in force (empty: none).
func limitsForm(ctx *Context, g *cgroup.Group, target string) form {
	var fields []field
	for _, o := range sandbox.Options() {
		if o.Commands&sandbox.CmdUpdate == 0 {
			continue
		}
		fl := optionField(&o, strings.Join(o.Format(g.Limits), " "))
		if o.Name == "memory" {
			fl.hint += "; in use: " + u64Bytes(g.Stats.Memory.Current)
		}
		fields = append(fields, fl)
	}
	return newForm(ctx, "Edit limits of "+target+" (applied at once, as `ctop update` does)", fields...)
}

// limitChanges parses the changed fields of a limits form through the
// option table, as ctop update does.
func limitChanges(f *form) (cgroup.Resources, bool) {
	f.clearErrs()
	g := formGiven(f, true)
	if len(g) == 0 {
		f.err = "nothing changed"
		return cgroup.Resources{}, false
	}
	r, err := sandbox.ParseUpdate(g)
	markErrs(f, err)
	return r, !f.hasErrs()
}

// liveLimits are a sandbox's limits in force, as the options that set
// them; launched are those it was started with, for a group not read yet.
func liveLimits(byPath map[string]*cgroup.Group, g *cgroup.Group, launched string) string {
	if g == nil {
		return launched
	}
	l := g.Limits
	if root := byPath["/"]; root != nil {
		l = sandbox.OwnLimits(l, root.Limits)
	}
	return sandbox.Format(l)
}

// confirm is a yes/no question; yes runs cmd.
type confirm struct {
	question string
	yes      tea.Cmd
}
