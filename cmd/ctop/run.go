package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/sandbox"
)

// quietExit ends ctop with the sandboxed command's own exit status; main
// prints nothing for it.
type quietExit struct{ code int }

func (q quietExit) Error() string { return fmt.Sprintf("exit status %d", q.code) }

// statusErr turns a command's exit code into ctop's exit.
func statusErr(code int) error {
	if code == 0 {
		return nil
	}
	return &exitError{code: code, err: quietExit{code}}
}

// usageErr is bad input: docker exits 125 (sandbox.ExitFailed) for it.
func usageErr(err error) error { return &exitError{code: sandbox.ExitFailed, err: err} }

// flagErr125 makes cobra's own flag errors exit 125, as docker's do.
func flagErr125(_ *cobra.Command, err error) error { return usageErr(err) }

// sandboxPlace are the hidden flags that say where sandboxes live: tests
// point them at their own parent group and state directory.
type sandboxPlace struct {
	cgroupParent string
	stateDir     string
}

func (p *sandboxPlace) register(fs *pflag.FlagSet) {
	fs.StringVar(&p.cgroupParent, "cgroup-parent", sandbox.DefaultCgroupParent, "parent cgroup of the sandboxes' groups (a path); under --cgroup-manager systemd a slice (default ctop.slice)")
	fs.StringVar(&p.stateDir, "state-dir", sandbox.DefaultStateDir, "where the state of running sandboxes is kept")
	_ = fs.MarkHidden("state-dir")
}

// forUser moves the defaults for a user who is not root: into the subtree
// delegated to them and their runtime directory (see sandbox.UserPlacement).
func (p *sandboxPlace) forUser(fs *pflag.FlagSet, f *cgroup.FS) error {
	if os.Geteuid() == 0 {
		return nil
	}
	if !fs.Changed("state-dir") {
		p.stateDir = sandbox.UserStateDir()
	}
	if fs.Changed("cgroup-parent") {
		return sandbox.CheckUserParent(f, p.cgroupParent)
	}
	parent, _, err := sandbox.UserPlacement(f)
	if err != nil {
		return err
	}
	p.cgroupParent = parent
	return nil
}

// reap cleans up after ctop processes that were killed, and says so.
func (p *sandboxPlace) reap(f *cgroup.FS) {
	msgs, err := sandbox.Reap(f, p.stateDir, p.cgroupParent)
	for _, m := range msgs {
		fmt.Fprintln(os.Stderr, "ctop:", m)
	}
	// A state directory the caller may not read is another user's (root's
	// /run/ctop): the command itself says so, in one line.
	if err != nil && !errors.Is(err, os.ErrPermission) {
		fmt.Fprintln(os.Stderr, "ctop: clean up after killed sandboxes:", err)
	}
}

// registerOptions registers the options of the option table that cmd
// takes as flags.
func registerOptions(fs *pflag.FlagSet, cmd sandbox.Commands) {
	for _, o := range sandbox.Options() {
		if o.Commands&cmd == 0 {
			continue
		}
		switch o.Kind {
		case sandbox.KindString:
			fs.StringP(o.Name, o.Short, o.Default, o.Help)
		case sandbox.KindStrings:
			fs.StringArrayP(o.Name, o.Short, nil, o.Help)
		case sandbox.KindBool:
			fs.BoolP(o.Name, o.Short, o.Default == "true", o.Help)
		case sandbox.KindInt:
			n, _ := strconv.ParseInt(o.Default, 10, 64)
			fs.Int64P(o.Name, o.Short, n, o.Help)
		}
	}
}

// givenOptions are the table's options given on the command line, as typed.
func givenOptions(fs *pflag.FlagSet) sandbox.Given {
	g := sandbox.Given{}
	fs.Visit(func(f *pflag.Flag) {
		if sandbox.Lookup(f.Name) == nil {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			g[f.Name] = sv.GetSlice()
		} else {
			g[f.Name] = []string{f.Value.String()}
		}
	})
	return g
}

type runOptions struct {
	place sandboxPlace
}

func newRunCmd() *cobra.Command {
	var o runOptions
	c := &cobra.Command{
		Use:   "run [flags] [--] COMMAND [ARG...]",
		Short: "Run a command in a sandbox: new namespaces, cgroup limits, its own root",
		Long: `Run a command isolated as a container is: in new namespaces (by default
pid, mnt, uts, ipc, net and cgroup, as docker does), under cgroup limits,
optionally on its own root filesystem. Flags follow docker run's names and
meanings. ctop exits with the command's status, 125 when ctop itself fails,
126 when the command cannot be executed, 127 when it is not found and 128+N
when signal N killed it; it says on stderr when the kernel's OOM killer, the
pids limit or CPU throttling got in the command's way.`,
		Example: `  ctop run --memory 32m --pids-limit 10 -- sh -c 'echo hi'
  ctop run --cpus 0.2 --name busy -d -- sh -c 'while :; do :; done'
  ctop run --rootfs ./rootfs --overlay --keep-upper ./changes -it -- sh`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr(errors.New("run: no command: give one after the flags, like ctop run -- sh"))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error { return runRun(c, &o, args) },
	}
	c.SetFlagErrorFunc(flagErr125)
	fs := c.Flags()
	fs.SetInterspersed(false) // flags after COMMAND are the command's
	registerOptions(fs, sandbox.CmdRun)
	o.place.register(fs)
	return c
}

// buildSpec turns run's flags into a sandbox spec, through the option
// table.
func buildSpec(fs *pflag.FlagSet, o *runOptions, args []string) (sandbox.Run, error) {
	r, err := sandbox.ParseRun(givenOptions(fs))
	if err != nil {
		return r, err
	}
	s := &r.Spec
	s.Command, s.CgroupParent, s.StateDir = args, o.place.cgroupParent, o.place.stateDir
	if s.TTY && !sandbox.IsTerminal(0) && r.Interactive {
		return r, errors.New("-t: the input device is not a TTY")
	}
	return r, nil
}

func runRun(c *cobra.Command, o *runOptions, args []string) error {
	run, err := buildSpec(c.Flags(), o, args)
	if err != nil {
		return usageErr(err)
	}
	spec := run.Spec
	// The layout sandbox.Start reads too: passed on, it is parsed once.
	f, err := cgroup.Open("/")
	if err != nil {
		return usageErr(err)
	}
	spec.Cgroups = f
	if err := spec.ChooseManager(f, c.Flags().Changed("cgroup-parent")); err != nil {
		return usageErr(err)
	}
	if os.Geteuid() != 0 {
		// A scope of the user's own systemd needs no delegated subtree
		// found beforehand: only the state directory moves.
		if err := o.place.forUser(c.Flags(), f); err != nil && spec.CgroupManager != sandbox.ManagerSystemd {
			return usageErr(fmt.Errorf("run: %w", err))
		}
		if spec.CgroupManager != sandbox.ManagerSystemd {
			spec.CgroupParent = o.place.cgroupParent
		}
		spec.StateDir = o.place.stateDir
		if !spec.Has(sandbox.NSUser) {
			// The kernel creates namespaces for an unprivileged process
			// only inside a user namespace of its own.
			spec.Namespaces = append(spec.Namespaces, sandbox.NSUser)
		}
	}
	o.place.reap(f)
	spec.DefaultSwap(f)
	if run.Interactive {
		spec.Stdin = os.Stdin
	}
	spec.Stdout, spec.Stderr = os.Stdout, os.Stderr
	var restore func()
	if spec.TTY && run.Interactive && !spec.Detach {
		if restore, err = sandbox.MakeRaw(0); err != nil {
			return usageErr(err)
		}
	}
	// Catch signals before the start: one arriving meanwhile would kill ctop
	// half-way, leaving the sandbox to die by its parent-death signal and
	// its cgroup to the next reap. They are relayed once it runs.
	sigs := make(chan os.Signal, 8)
	if !spec.Detach {
		signal.Notify(sigs, relayed...)
	}
	sb, err := sandbox.Start(spec)
	if err != nil {
		signal.Stop(sigs)
		if restore != nil {
			restore()
		}
		var se *sandbox.StartError
		if errors.As(err, &se) {
			return &exitError{code: se.Code, err: givenOptions(c.Flags()).Blame(err)}
		}
		return usageErr(givenOptions(c.Flags()).Blame(err))
	}
	if spec.Detach {
		fmt.Fprintln(c.OutOrStdout(), sb.Name)
		return nil
	}
	stop := relaySignals(sb, sigs)
	res, werr := sb.Wait()
	stop()
	if restore != nil {
		restore()
	}
	for _, line := range res.Report(sb.Name) {
		fmt.Fprintln(os.Stderr, "ctop:", line)
	}
	if spec.Stats {
		fmt.Fprint(os.Stderr, res.StatsText(sb.StartLatency))
	}
	if werr != nil {
		fmt.Fprintln(os.Stderr, "ctop:", werr)
	}
	return statusErr(res.ExitCode)
}

// relayed are the signals ctop run passes on to the sandbox.
var relayed = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGWINCH}

// relaySignals passes the signals caught on ch (those a user sends ctop) on
// to the sandbox's command (docker's --sig-proxy) and keeps a TTY's size in
// step.
func relaySignals(sb *sandbox.Sandbox, ch chan os.Signal) (stop func()) {
	if sb.Spec().TTY {
		if rows, cols, err := sandbox.TerminalSize(0); err == nil {
			_ = sb.Resize(rows, cols)
		}
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				if s == syscall.SIGWINCH {
					if rows, cols, err := sandbox.TerminalSize(0); err == nil {
						_ = sb.Resize(rows, cols)
					}
					continue
				}
				_ = syscall.Kill(sb.Pid, s.(syscall.Signal))
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}
