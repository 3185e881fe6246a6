// Package netinfo reads what each network namespace holds: its interfaces
// (links) with their state, addresses and traffic counters, which bridge
// each is attached to, and for each veth the namespace and interface at its
// other end. That is the picture of a container host's networking: a
// container's eth0 is one end of a veth pair whose other end sits in the
// host namespace, enslaved to a bridge such as docker0.
//
// It asks the kernel over rtnetlink (rtnetlink(7)), through the maintained
// github.com/vishvananda/netlink library, rather than /proc or /sys: those
// show only the namespace the reader is in, and the peer's namespace of a
// veth (IFLA_LINK_NETNSID) is only told over netlink.
//
// Another namespace is entered by opening a file that refers to it
// (/proc/PID/ns/net, or a bind mount under /run/netns or /run/docker/netns)
// and opening a netlink socket inside it: the library moves one locked OS
// thread there for the socket(2) call and back (network_namespaces(7): a
// socket stays in the namespace it was created in), so the calling thread
// of a long-running process is never left in another namespace. Entering
// needs CAP_SYS_ADMIN; without it only the caller's own namespace is read.
//
// Which namespaces to read comes from nsinfo's process scan (one process
// per namespace, identified by (device, inode) as namespaces(7) says) and
// from the bind mounts ip-netns(8) and docker keep.
package netinfo
