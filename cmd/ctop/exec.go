package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/sandbox"
)

func newExecCmd() *cobra.Command {
	var (
		place            sandboxPlace
		env              []string
		user, workdir    string
		interactive, tty bool
	)
	c := &cobra.Command{
		Use:   "exec [flags] NAME [--] COMMAND [ARG...]",
		Short: "Run a command inside a running sandbox",
		Long: `Run a command in a running sandbox: in its cgroup and its namespaces, with
the same capabilities and no_new_privs as the sandbox's own command (in a
user namespace, as its root unless --user says otherwise). ctop exits with
the command's status. A time namespace cannot be entered (the kernel allows
that only to a process sharing its memory with none): ctop says so and runs
the command with the host's clocks.`,
		Example: `  ctop exec busy -- ps
  ctop exec -it web -- sh`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usageErr(errors.New("exec: give a sandbox name and a command, like ctop exec NAME -- sh"))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			command := args[1:]
			if command[0] == "--" { // flags stop at NAME, so "--" arrives as an argument
				command = command[1:]
			}
			if len(command) == 0 {
				return usageErr(errors.New("exec: no command after --"))
			}
			o := sandbox.ExecOptions{Command: command, Env: env, Workdir: workdir, TTY: tty,
				Stdout: os.Stdout, Stderr: os.Stderr}
			if interactive {
				o.Stdin = os.Stdin
			}
			if user != "" {
				if err := sandbox.CheckUser(user); err != nil {
					return usageErr(fmt.Errorf("--user %s: %w", user, err))
				}
			}
			f, err := cgroup.Open("/")
			if err != nil {
				return usageErr(err)
			}
			_ = place.forUser(c.Flags(), f)
			st, err := sandbox.Load(place.stateDir, args[0])
			if err != nil {
				return usageErr(err)
			}
			if user != "" {
				// Names resolve in the sandbox's rootfs (the lower layer
				// of an overlay), else in the host's files it sees.
				u, err := sandbox.ParseUser(user, st.Rootfs)
				if err != nil {
					return usageErr(fmt.Errorf("--user %s: %w", user, err))
				}
				o.User = u
			}
			if tty && interactive {
				restore, err := sandbox.MakeRaw(0)
				if err != nil {
					return usageErr(err)
				}
				defer restore()
			}
			for _, n := range sandbox.ExecSkips(st) {
				fmt.Fprintf(os.Stderr, "ctop: exec cannot enter the sandbox's %s namespace (the kernel allows it only to a single-threaded process); the command runs in the host's\n", n)
			}
			code, err := sandbox.Exec(f, st, o)
			if err != nil {
				return &exitError{code: code, err: err}
			}
			return statusErr(code)
		},
	}
	c.SetFlagErrorFunc(flagErr125)
	fs := c.Flags()
	fs.SetInterspersed(false)
	place.register(fs)
	fs.StringArrayVarP(&env, "env", "e", nil, "environment variable KEY=VALUE")
	fs.StringVarP(&user, "user", "u", "", "NAME|UID[:GROUP|GID], resolved in the sandbox's /etc/passwd and /etc/group (default: the sandbox's user)")
	fs.StringVarP(&workdir, "workdir", "w", "", "working directory (default /)")
	fs.BoolVarP(&interactive, "interactive", "i", false, "keep stdin attached")
	fs.BoolVarP(&tty, "tty", "t", false, "give the command a terminal")
	return c
}
