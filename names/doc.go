// Package names says what runs in a cgroup: the docker or podman container,
// the Kubernetes pod and container, the systemd unit, session or machine,
// the LXC container or the ctop sandbox whose processes a group holds.
//
// Most of it is read from the path alone (Parse): container engines and
// systemd name their groups after what they manage (docker-<id>.scope,
// kubepods-burstable-pod<uid>.slice, session-3.scope). A Resolver adds what
// the path cannot carry: a container's name, image and compose project from
// its engine's API socket, a pod's namespace and name from the files the
// kubelet leaves under /var/log/pods, and ctop's own sandboxes from their
// state directory. The Resolver asks an engine once per container id it has
// not seen, with a short timeout, and keeps the answer on itself.
package names
