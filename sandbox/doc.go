// Package sandbox launches processes isolated the way containers are: in
// new namespaces (namespaces(7)), under cgroup limits (cgroups(7)), on
// their own root filesystem if asked, and keeps enough state under
// /run/ctop for later ctop processes to list, enter, tune and stop them.
//
// A Spec describes a sandbox; Start launches it and Wait reaps it and
// removes its cgroup and state. Start re-executes the running binary
// (/proc/self/exe) as the sandbox's init, so the binary must call Init
// before anything else: a program does so by importing package reexec for
// its side effect. sync.go documents the protocol between the two.
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
package sandbox
