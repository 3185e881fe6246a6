// Package sandbox launches processes isolated the way containers are: in
// new namespaces (namespaces(7)), under cgroup limits (cgroups(7)), on
// their own root filesystem if asked, and keeps enough state under
// /run/ctop for later ctop processes to list, enter, tune and stop them.
//
// A Spec describes a sandbox; Start launches it and Wait reaps it and
// removes its cgroup and state, but for a detached sandbox's exit record
// and log, which stay until Remove (record.go). A sandbox with the host's files and no user
// namespace, the usual one, is started by a launch (launch_linux.go): the
// parent writes the init out as system calls, and a child cloned as by
// vfork makes them and executes the command, with no Go runtime of its own
// to start. Its namespaces, and in them most of its view of the host's
// files, are made beforehand by the thread that clones it (nest_linux.go),
// while the cgroups are made on another. Otherwise (--rootfs, a user namespace, ctop exec, a kernel
// without clone3) Start re-executes the running binary (/proc/self/exe) as
// the init, whose mounts inside a new root are decided there; the binary
// must then call Init before anything else, which a program does by
// importing package reexec for its side effect. sync.go documents the
// protocol between the two.
//
// The init, started in its new namespaces and (on cgroup v2) directly in
// its cgroup with clone3's CLONE_INTO_CGROUP, makes its mounts private,
// mounts a fresh /proc (with docker's masked and read-only paths), builds
// the root with pivot_root(2) over an optional overlay, sets the host name,
// brings up loopback, drops to docker's default capabilities, sets
// no_new_privs and execs the command, which stays pid 1 of its pid
// namespace. The sandbox dies with the process that started it
// (PR_SET_PDEATHSIG); a detached sandbox is started by a monitor process
// that outlives its caller. Reap cleans up after a ctop that was killed.
//
// A user who is not root launches sandboxes in the cgroup subtree
// delegated to it (UserPlacement), always in a user namespace whose maps
// newuidmap and newgidmap write from the user's subordinate ranges
// (idmap_linux.go); what needs root is refused first (rootless.go,
// CheckDelegated), and ctop exec enters such a sandbox's user namespace
// before the others (userexec_linux.go).
package sandbox
