// Package nsinfo reads the namespaces, cgroups and identity of every process
// from a proc mount, groups processes into namespaces as lsns(8) does, and
// tells how a process is isolated from the host.
//
// A namespace (namespaces(7)) wraps one global resource so that the processes
// inside see their own instance of it: mount points (mnt), process ids (pid),
// the network stack (net), System V IPC and POSIX queues (ipc), host and domain
// name (uts), user and group ids (user), the cgroup root (cgroup) and the
// boottime/monotonic clocks (time). Every process is in exactly one namespace
// of each type; /proc/PID/ns/TYPE is a link to it. Two processes share a
// namespace when those links resolve to the same (device, inode) pair of the
// nsfs filesystem; the inode alone is not the identity.
//
// Everything is read relative to a root directory given to Open, "/" on a
// live host, so tests point it at a fixture tree under testdata. Nothing here
// needs root to look: fields the caller may not read are marked unavailable
// instead of failing.
package nsinfo
