#!/bin/bash
# provision.sh (ctop-provision.service) sets up what a user's host has, for
# the tests to find: an offline docker image and two containers with limits
# and compose labels on the default bridge, a lingering user with subordinate
# ids, and a Kubernetes-style cgroup layout with its pod log directory. It
# writes the names the tests need to /run/ctop-test/env.
set -euo pipefail

step() { echo "provision: $*"; }
mkdir -p /run/ctop-test

step "docker image ctop-busybox:test from busybox-static"
tree=$(mktemp -d)
mkdir -p "$tree/bin" "$tree/tmp" "$tree/proc" "$tree/sys" "$tree/dev" "$tree/etc"
cp /bin/busybox "$tree/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "$tree/bin/$applet"
done
tar -C "$tree" -c . | docker import - ctop-busybox:test
rm -rf "$tree"

step "containers dk-a (web) and dk-b (db)"
docker rm -f dk-a dk-b >/dev/null 2>&1 || true
docker run -d --name dk-a --memory 64m --cpus 0.5 --pids-limit 50 \
	--label com.docker.compose.project=demo --label com.docker.compose.service=web \
	ctop-busybox:test sleep 1d
docker run -d --name dk-b --memory 128m --cpus 0.25 --pids-limit 30 \
	--label com.docker.compose.project=demo --label com.docker.compose.service=db \
	ctop-busybox:test sleep 1d

step "user tester (uid 1000) with linger and subordinate ids"
id tester >/dev/null 2>&1 || useradd -m -u 1000 -s /bin/bash tester
grep -q '^tester:' /etc/subuid || echo 'tester:100000:65536' >>/etc/subuid
grep -q '^tester:' /etc/subgid || echo 'tester:100000:65536' >>/etc/subgid
loginctl enable-linger tester
for _ in $(seq 240); do
	systemctl is-active -q user@1000.service && break
	sleep 0.5
done
if ! systemctl is-active -q user@1000.service; then
	step "user@1000.service is $(systemctl is-active user@1000.service):"
	journalctl -b -u user@1000.service --no-pager -o cat | tail -n 30
	exit 1
fi

# A pod as kubelet's systemd cgroup driver lays it out: the pod's slice under
# kubepods-burstable.slice (systemd nests slices by their dashes), one scope
# per container named after the container's id, and the pod's log directory
# NAMESPACE_POD_UID/CONTAINER.
pod_uid=7d3c2b1a-4e5f-4a6b-8c7d-9e0f1a2b3c4d
ctr=$(printf 'ctop-kube-container' | sha256sum | cut -c1-64)
slice=kubepods-burstable-pod${pod_uid//-/_}.slice
step "kube layout: $slice/cri-containerd-$ctr.scope"
mkdir -p "/var/log/pods/default_web-0_$pod_uid/app"
echo '2026-01-01T00:00:00Z stdout F started' >"/var/log/pods/default_web-0_$pod_uid/app/0.log"
# The kubelet links each container's log as POD_NAMESPACE_CONTAINER-ID.log,
# which is where a container's id meets its name in the pod.
mkdir -p /var/log/containers
ln -sf "/var/log/pods/default_web-0_$pod_uid/app/0.log" "/var/log/containers/web-0_default_app-$ctr.log"
systemd-run --quiet --scope --unit="cri-containerd-$ctr" --slice="$slice" \
	-p MemoryMax=80M /bin/sleep 1d </dev/null >/dev/null 2>&1 &
for _ in $(seq 60); do
	systemctl is-active -q "cri-containerd-$ctr.scope" && break
	sleep 0.5
done
systemctl is-active "cri-containerd-$ctr.scope"

cat >/run/ctop-test/env <<EOT
CTOP_TEST_KUBE_POD_UID=$pod_uid
CTOP_TEST_KUBE_POD=default_web-0
CTOP_TEST_KUBE_CONTAINER=$ctr
CTOP_TEST_KUBE_CONTAINER_NAME=app
EOT
step done
