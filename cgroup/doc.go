// Package cgroup reads and writes the control groups of one host
// (cgroups(7), the kernel's cgroup-v1 and cgroup-v2.rst): it lists the
// groups and reads their usage counters and limits as ctop's own Stats and
// Limits types, and it creates groups, writes their limits, moves
// processes into them, kills and removes them.
//
// Everything starts from a value that holds the mount roots: Open(root)
// reads root's proc/self/mountinfo into an *FS, the hierarchies mounted
// under that root and the controllers each carries. There is no global
// layout: "/" is the live host, and tests open the fixture trees under
// testdata (copies of real hosts' files), so they run without root and
// without setup. A Host keeps the live host's FS for a process that needs
// it again and again, until the mount table changes.
//
// The FS works out the host's Mode from the mounts alone: ModeLegacy (v1
// only: a hierarchy per controller or co-mounted set), ModeUnified (one
// cgroup2 tree) or ModeHybrid (v1 controller hierarchies plus a cgroup2
// tree that carries the controllers v1 left unclaimed, often none). A
// group is a path, such as "/ctop/web", that names a directory in every
// hierarchy that has it; reads and writes go to the hierarchy carrying the
// controller concerned, and on a hybrid host writes reach the v2 tree too,
// for its cgroup.kill, pressure files and clone-into-cgroup.
//
// Reading: FS.Scan lists and reads every group under a path; a Scanner
// does so tick after tick, re-reading limits and the tree's shape only
// every few ticks; FS.Read reads one group; NewRates turns two readings
// into rates. A value the kernel did not give is unknown (OK false), never
// zero, and "max" is Unlimited, never 0 or -1.
//
// Writing: Create makes a group with Resources (nil fields are left
// alone) and returns a Manager; Load returns one for an existing group.
// A Manager's Update writes limits, AddProc and FD place processes, and
// Kill, Delete and DeleteIfEmpty end the group. A write the kernel
// refuses is a *WriteError naming the file and the value.
package cgroup
