package main

import (
	"os"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/names"
	"github.com/ctop-dev/ctop/sandbox"
)

// newResolver returns the names resolver for the live host, with the
// sandboxes recorded in stateDir ("" for the invoking user's default).
func newResolver(stateDir string) *names.Resolver {
	if stateDir == "" {
		stateDir = sandbox.DefaultStateDir
		if os.Geteuid() != 0 {
			stateDir = sandbox.UserStateDir()
		}
	}
	return names.New(names.Options{SandboxDir: stateDir})
}

// groupOf turns a command's target into a cgroup path (names.Resolver.Find),
// listing the host's tree once.
func groupOf(f *cgroup.FS, r *names.Resolver, target string) (string, error) {
	paths, err := f.Paths("/", 0)
	if err != nil {
		return "", err
	}
	return r.Find(paths, target)
}
