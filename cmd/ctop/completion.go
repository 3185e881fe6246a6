package main

import (
	"os"
	"path"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/nsinfo"
	"github.com/ctop-dev/ctop/sandbox"
)

// Dynamic completion: cobra's hidden __complete command asks these
// functions for candidates, and the bash, zsh and fish scripts cobra
// generates (ctop completion SHELL) call it on every TAB.

// addCompletions registers the completions of the whole command tree:
// sandbox names where a command takes them, cgroup paths, namespace types,
// signals, and the choices of option-table rows.
func addCompletions(root *cobra.Command) {
	for _, c := range root.Commands() {
		switch c.Name() {
		case "stop", "kill", "rm", "wait", "pause", "unpause", "stats":
			c.ValidArgsFunction = completeNames(true)
		case "logs", "exec":
			c.ValidArgsFunction = completeNames(false)
		case "update":
			names := completeNames(false)
			c.ValidArgsFunction = func(c *cobra.Command, args []string, to string) ([]string, cobra.ShellCompDirective) {
				if strings.HasPrefix(to, "/") {
					return completeCgroup(c, args, to)
				}
				return names(c, args, to)
			}
		case "cgroups":
			c.ValidArgsFunction = completeCgroup
		case "ns":
			_ = c.RegisterFlagCompletionFunc("type", completeList(nsTypes(), false))
		case "run":
			list := completeList(nsTypes(), true)
			_ = c.RegisterFlagCompletionFunc("ns", func(c *cobra.Command, args []string, to string) ([]string, cobra.ShellCompDirective) {
				out, d := list(c, args, to)
				if !strings.Contains(to, ",") && strings.HasPrefix("none", to) {
					out = append(out, "none") // alone: share every namespace
				}
				return out, d
			})
			_ = c.RegisterFlagCompletionFunc("stop-signal", completeList(sandbox.SignalNames(), false))
		}
		if c.Flags().Lookup("signal") != nil {
			_ = c.RegisterFlagCompletionFunc("signal", completeList(sandbox.SignalNames(), false))
		}
		// The fixed choices of the option table's rows (--network).
		for _, o := range sandbox.Options() {
			if len(o.Choices) > 0 && c.Flags().Lookup(o.Name) != nil {
				_ = c.RegisterFlagCompletionFunc(o.Name, completeList(o.Choices, false))
			}
		}
	}
}

// completeNames completes the names of the sandboxes in the command's
// state directory; many: at every argument, skipping those given, else
// at the first only.
func completeNames(many bool) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, to string) ([]string, cobra.ShellCompDirective) {
		if !many && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveDefault
		}
		dir := sandbox.DefaultStateDir
		if f := c.Flags().Lookup("state-dir"); f != nil {
			dir = f.Value.String()
			if !f.Changed && os.Geteuid() != 0 {
				dir = sandbox.UserStateDir()
			}
		}
		states, err := sandbox.List(dir)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []string
		for _, st := range states {
			if strings.HasPrefix(st.Name, to) && !slices.Contains(args, st.Name) {
				out = append(out, st.Name)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeCgroup completes a cgroup path one level at a time: the groups
// directly under the part typed up to its last '/', by prefix.
func completeCgroup(_ *cobra.Command, args []string, to string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	f, err := cgroup.Open("/")
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	return cgroupCandidates(f, to), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// cgroupCandidates are the groups of f one level under the directory of
// to that start with to.
func cgroupCandidates(f *cgroup.FS, to string) []string {
	if !strings.HasPrefix(to, "/") {
		to = "/" + to
	}
	dir := path.Dir(to)
	if strings.HasSuffix(to, "/") {
		dir = path.Clean(to)
	}
	paths, err := f.Paths(dir, 1)
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range paths {
		if p != dir && strings.HasPrefix(p, to) {
			out = append(out, p)
		}
	}
	return out
}

// completeList completes one of words, or with comma a comma-separated
// list of them (--ns pid,mnt,...), offering those not yet in the list.
func completeList(words []string, comma bool) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, to string) ([]string, cobra.ShellCompDirective) {
		head, last := "", to
		if i := strings.LastIndexByte(to, ','); comma && i >= 0 {
			head, last = to[:i+1], to[i+1:]
		}
		given := strings.Split(head, ",")
		var out []string
		for _, w := range words {
			if strings.HasPrefix(w, strings.ToUpper(last)) || strings.HasPrefix(w, last) {
				if !slices.Contains(given, w) {
					out = append(out, head+w)
				}
			}
		}
		d := cobra.ShellCompDirectiveNoFileComp
		if comma {
			d |= cobra.ShellCompDirectiveNoSpace
		}
		return out, d
	}
}

// nsTypes are the namespace types, by name.
func nsTypes() []string {
	var out []string
	for _, t := range nsinfo.Types() {
		out = append(out, string(t))
	}
	slices.Sort(out)
	return out
}
