// Package systemd creates and tunes ctop's sandboxes as transient systemd
// units, over D-Bus (org.freedesktop.systemd1(5)), on hosts where systemd
// is PID 1 and owns the cgroup v2 tree ("single writer"): there a sandbox
// is a scope, ctop-NAME.scope in ctop.slice with Delegate=yes, whose
// limits are unit properties (systemd.resource-control(5)), so that
// systemctl, systemd-cgtop and ctop name the same group with the same
// limits.
//
// The boundary is D-Bus, not the kernel: the package asks systemd to make,
// change and remove units and reads back the group it made (the unit's
// ControlGroup); reading and writing the group's files stays with package
// cgroup.
//
// Root talks to the system manager on its private socket
// (/run/systemd/private, which needs no dbus-daemon), falling back to the
// system bus; any other user to their own user manager
// (user@UID.service), on $XDG_RUNTIME_DIR/systemd/private, falling back to
// the session bus $XDG_RUNTIME_DIR/bus.
//
// It uses github.com/coreos/go-systemd/v22/dbus directly rather than
// containerd/cgroups' cgroup2.NewSystemd, which dials only the system bus
// (so no user manager), computes the group's path from the slice's name
// instead of asking systemd, knows no IO, swap, MemoryLow or cpuset
// properties, cannot change a running unit's properties, and retries a
// start with job mode "replace" with a fixed 30 s wait.
package systemd
