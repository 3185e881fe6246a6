// Package refload builds the reference load that ctop's benchmarks measure
// at: sleeping processes spread over many cgroups, some of them in their own
// namespaces. The benchmarks of the command bench/refload, of the metrics
// package and of the TUI share it, so their figures describe the same load
// and each cleans up after itself the same way.
//
// It needs root: it creates cgroups (cgroups(7)) and namespaces
// (namespaces(7)).
package refload

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

var (
	// ErrNotRoot means the caller is not root, so no load can be built.
	ErrNotRoot = errors.New("needs root to create cgroups and namespaces")
	// ErrUnsupported means the host lacks a hierarchy the load needs (see
	// Build); callers skip rather than fail.
	ErrUnsupported = errors.New("host cannot carry the reference load")
)

// ParentPrefix starts every load's parent group, so a leftover is easy to
// recognise (find /sys/fs/cgroup -name 'ctop-test*') and a mistyped path
// cannot point Build or Remove at a group of the host.
const ParentPrefix = "/ctop-test-"

// Options sizes a load.
type Options struct {
	// Groups is the number of child groups, g000, g001, ..., under Parent.
	Groups int
	// Procs is the number of sleeping processes, spread round-robin over
	// the groups.
	Procs int
	// Isolated is how many of the processes (the first ones) start in
	// their own pid, net, uts, ipc and mnt namespaces.
	Isolated int
	// Parent is the group the load lives under, one level below the
	// hierarchy roots and starting with ParentPrefix; it must not exist.
	Parent string
}

// Reference is the reference load of the inspection core: 2,000 sleeping
// processes over 400 cgroups, 200 of them in their own namespaces.
func Reference(parent string) Options {
	return Options{Groups: 400, Procs: 2000, Isolated: 200, Parent: parent}
}

func (o Options) validate() error {
	switch {
	case !strings.HasPrefix(o.Parent, ParentPrefix) || filepath.Clean(o.Parent) != o.Parent ||
		strings.Contains(o.Parent[1:], "/"):
		return fmt.Errorf("parent %q: want one level below the root, starting with %s", o.Parent, ParentPrefix)
	case o.Groups < 0 || o.Procs < 0 || o.Isolated < 0:
		return fmt.Errorf("negative count in %+v", o)
	case o.Procs > 0 && o.Groups == 0:
		return fmt.Errorf("%d processes need at least one group", o.Procs)
	case o.Isolated > o.Procs:
		return fmt.Errorf("%d isolated processes out of %d", o.Isolated, o.Procs)
	}
	return nil
}
