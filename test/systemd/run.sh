#!/usr/bin/env bash
# run.sh runs the project's root integration tests on a host like ctop's
# users': Debian 12 with systemd as PID 1 on pure cgroup v2, dockerd and
# containerd running two containers with limits, a systemd service with
# limits, a lingering user's manager and a Kubernetes-style cgroup layout.
#
# It fetches Debian's kernel (shared with test/vm/run.sh), builds a Debian 12
# root filesystem from Debian's packages with mmdebstrap into an ext4 image
# (mkfs.ext4 -d, no loop mounts), cached in .vm-cache/systemd/ and rebuilt
# only when the package list, the kernel or the recipe changes, and boots it
# under qemu with the disk in snapshot mode, so each run starts clean. A small
# initramfs loads the disk's modules, mounts the root, adds this run's test
# binaries, units and scripts (test/systemd/guest) and hands over to systemd.
# Test output streams to stdout; the kernel and systemd console goes to
# .vm-cache/systemd/run/console.log.
#
# Exit status: 0 when every test binary passed; 1 when a test or the
# provisioning failed, the VM stopped without reporting, or the time limit
# passed; 2 when the harness could not set the VM up. See
# test/systemd/README.md.
#
# Settings (environment):
#   VM_TIMEOUT      hard limit for the VM in seconds (default 900)
#   VM_PKGS         packages to test (default: those with root tests, plus
#                   ./test/systemd and ./names)
#   VM_KERNEL_PKG   Debian kernel package (default linux-image-amd64)
#   VM_MEM, VM_CPUS memory in MiB (default 2048) and vCPUs (default 2)
#   VM_APPEND       extra kernel command line
#   VM_ACCEL        tcg (default) or kvm; a kvm guest that has not reached
#                   systemd within VM_KVM_BOOT_LIMIT seconds (default 60) is
#                   killed and the run repeated under tcg
#   VM_CACHE        cache directory (default .vm-cache at the repository root)
#   SYSTEMD_VM_DEBS extra Debian packages for the root filesystem
#   SYSTEMD_VM_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   CTOP_VM_*, CTOP_TEST_*  passed into the tests' environment, as for
#                   test-v2 (CTOP_VM_RUN, CTOP_VM_VERBOSE, CTOP_VM_TEST_TIMEOUT)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${VM_CACHE:-$root/.vm-cache}
vm_timeout=${VM_TIMEOUT:-900}
kernel_pkg=${VM_KERNEL_PKG:-linux-image-amd64}
mirror=${SYSTEMD_VM_MIRROR:-http://deb.debian.org/debian}
harness=test-systemd
# shellcheck source=test/vm/lib.sh
. "$root/test/vm/lib.sh"

# The root filesystem's packages beyond Debian's minbase: systemd as init,
# docker from Debian, the tools ctop and its tests call, and iptables and
# kmod, which dockerd needs to set up its bridge network, and apparmor:
# Debian's kernel enables it, and dockerd then loads its docker-default
# profile with apparmor_parser (docker.io recommends it); libpam-systemd,
# as on every Debian install, registers sessions and user managers with
# logind.
debs="systemd systemd-sysv dbus libpam-systemd docker.io containerd runc iptables kmod apparmor uidmap
iproute2 util-linux procps tmux prometheus busybox-static ${SYSTEMD_VM_DEBS:-}"
debs=$(echo $debs | tr ' ' '\n' | sort -u | tr '\n' ' ')
# Module trees copied into the root filesystem: what docker (overlay, veth,
# bridge, netfilter), ext4 and virtio need, not the hardware drivers.
module_dirs="kernel/arch kernel/block kernel/crypto kernel/fs kernel/lib kernel/mm kernel/net kernel/virt
kernel/drivers/block kernel/drivers/virtio kernel/drivers/char kernel/drivers/md"

need qemu-system-x86_64 busybox cpio mkfs.ext4 depmod modprobe apt-get dpkg-deb timeout flock mmdebstrap sha256sum
if [ "$(id -u)" != 0 ]; then
	# As the root tests skip for other users, so does this VM.
	log "SKIP: needs root (mmdebstrap builds the root filesystem as root)"
	exit 0
fi
lock_cache "$vm_timeout"

t_start=$(now)
cd "$root"
sys=$cache/systemd
run=$sys/run
mkdir -p "$sys"

t0=$(now)
kdir=$(fetch_kernel)
kver=$(cat "$kdir/release")
log "kernel $kver ($(since "$t0"))"

# build_rootfs builds the root filesystem image $1 with mmdebstrap. Its own
# text is part of the cache key, so changing the recipe rebuilds the image.
build_rootfs() {
	local img=$1 dir mb
	dir=$sys/rootfs.tmp
	rm -rf "$dir"
	# shellcheck disable=SC2086
	mmdebstrap --quiet --variant=minbase --mode=root --format=directory \
		--aptopt='APT::Install-Recommends "false"' \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--include="$(echo $debs | tr ' ' ',')" \
		--customize-hook='chroot "$1" systemctl mask prometheus.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer systemd-firstboot.service getty@tty1.service serial-getty@ttyS0.service' \
		--customize-hook='chroot "$1" systemd-machine-id-setup' \
		--customize-hook='echo ctop-systemd >"$1/etc/hostname"' \
		--customize-hook='echo "/dev/vda / ext4 rw,noatime 0 0" >"$1/etc/fstab"' \
		--customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_Packages' \
		bookworm "$dir" \
		"deb $mirror bookworm main" \
		"deb $mirror bookworm-updates main" \
		"deb ${mirror%/debian}/debian-security bookworm-security main" >&2 ||
		die "mmdebstrap failed"
	# Modules matching the booted kernel, from the same package.
	mkdir -p "$dir/lib/modules/$kver"
	cp -a "$kdir/root/lib/modules/$kver"/modules.* "$dir/lib/modules/$kver/"
	local d
	for d in $module_dirs; do
		if [ -d "$kdir/root/lib/modules/$kver/$d" ]; then
			mkdir -p "$dir/lib/modules/$kver/$(dirname "$d")"
			cp -a "$kdir/root/lib/modules/$kver/$d" "$dir/lib/modules/$kver/$d"
		fi
	done
	mkdir -p "$dir/lib/modules/$kver/kernel/drivers/net"
	cp -a "$kdir/root/lib/modules/$kver/kernel/drivers/net"/*.ko* "$dir/lib/modules/$kver/kernel/drivers/net/"
	depmod -b "$dir" "$kver"
	mb=$(du -sm "$dir" | cut -f1)
	rm -f "$img.tmp"
	truncate -s "$((mb + 1536))M" "$img.tmp"
	mkfs.ext4 -q -F -L ctop-root -d "$dir" "$img.tmp" || die "mkfs.ext4 -d $dir failed"
	mv "$img.tmp" "$img"
	rm -rf "$dir"
}

key=$({ echo "$debs $mirror $kver"; declare -f build_rootfs; echo "$module_dirs"; } | sha256sum | cut -c1-16)
img=$sys/rootfs-$key.img
if [ ! -e "$img" ]; then
	t0=$(now)
	log "building the Debian 12 root filesystem with mmdebstrap (cache key $key)"
	build_rootfs "$img"
	for old in "$sys"/rootfs-*.img; do
		[ "$old" = "$img" ] || rm -f "$old"
	done
	log "root filesystem $(du -h --apparent-size "$img" | cut -f1) ($(since "$t0"))"
else
	log "root filesystem cached (${img#"$root"/})"
fi

# The initramfs: busybox, the modules to reach the root disk, and this run's
# payload, copied over the root filesystem's snapshot before systemd starts.
t0=$(now)
stage=$sys/build/initramfs
rm -rf "$sys/build" "$run"
mkdir -p "$stage/bin" "$run"
cp "$(command -v busybox)" "$stage/bin/busybox"
copy_modules "$kdir" "$stage" virtio_pci virtio_blk ext4
cp test/systemd/guest/init "$stage/init"
payload=$stage/payload
opt=$payload/opt/ctop-test
mkdir -p "$opt" "$payload/etc/systemd/system/multi-user.target.wants" "$payload/usr/local/bin"
cp test/systemd/guest/*.sh "$opt/"
for unit in test/systemd/guest/*.service; do
	cp "$unit" "$payload/etc/systemd/system/"
	ln -s "../$(basename "$unit")" "$payload/etc/systemd/system/multi-user.target.wants/$(basename "$unit")"
done
pkgs=$(test_packages)
if [ -z "${VM_PKGS:-}" ]; then
	# Beyond the root tests: the environment's own tests, and names, whose
	# live test needs a docker daemon with containers (not root), which
	# only this VM is sure to have.
	pkgs=$(printf '%s\n%s\n' "$pkgs" "$("$go" list -f '{{.ImportPath}} {{.Dir}}' ./test/systemd ./names)" | grep -v -e '/test/vm/selftest ' -e '^$' | sort -u)
fi
build_tests "$opt" /opt/ctop-test <<<"$pkgs" || exit 1
test_env 'CTOP_TEST_(VM|SYSTEMD|BLOCKDEV|DISKDIR|BIN)' >"$opt/env"
CGO_ENABLED=0 "$go" build -trimpath -o "$payload/usr/local/bin/ctop" ./cmd/ctop
echo CTOP_TEST_BIN=/usr/local/bin/ctop >>"$opt/env"
(cd "$stage" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) >"$run/initramfs.cpio"
log "initramfs $(du -h "$run/initramfs.cpio" | cut -f1) ($(since "$t0"))"

cache_mode=$(scratch_disk "$run/disk.img" 256M)

append="console=ttyS0 rdinit=/init panic=-1 quiet mitigations=off
systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all systemd.show_status=auto ${VM_APPEND:-}"

# start_vm starts the VM in the background with accelerator $1 under the
# hard time limit; vm_pid is timeout's process. The root disk is in snapshot
# mode: its writes go to a temporary file in $run and vanish with qemu.
start_vm() {
	# shellcheck disable=SC2046
	local qemu=(qemu-system-x86_64 -accel "$1" -M pc -cpu max $(qemu_bios)
		-smp "${VM_CPUS:-2}" -m "${VM_MEM:-2048}"
		-nodefaults -no-user-config -display none -vga none -no-reboot
		-kernel "$(kernel_image "$kdir")" -initrd "$run/initramfs.cpio" -append "$(echo $append)"
		-device isa-debug-exit,iobase=0xf4,iosize=0x04
		-drive "file=$img,if=none,id=root,format=raw,snapshot=on,cache=unsafe"
		-device virtio-blk-pci,drive=root
		-drive "file=$run/disk.img,if=none,id=scratch,format=raw,cache=$cache_mode"
		-device virtio-blk-pci,drive=scratch
		-serial "file:$run/console.log"
		-chardev "file,id=tests,path=$run/tests.log" -serial chardev:tests)
	: >"$run/tests.log"
	TMPDIR=$run timeout -k 10 "$vm_timeout" "${qemu[@]}" </dev/null &
	vm_pid=$!
}

# The test output goes to a file, streamed to stdout as it grows, so the
# harness can tell a KVM guest that never got as far as the tests.
: >"$run/tests.log"
tail -n +1 -F "$run/tests.log" --pid=$$ 2>/dev/null &
tailer=$!
trap 'kill $tailer 2>/dev/null || true' EXIT

accel=${VM_ACCEL:-tcg}
log "booting under $accel (limit ${vm_timeout}s, console in ${run#"$root"/}/console.log)"
t0=$(now)
vm_pid=
start_vm "$accel"
if [ "$accel" = kvm ]; then
	# KVM guests have hung on CI machines: give one a short limit to reach
	# the test runner (its first line), else kill it and use TCG.
	limit=${VM_KVM_BOOT_LIMIT:-60}
	for _ in $(seq "$limit"); do
		grep -q '^systemd-vm: ' "$run/tests.log" && break
		kill -0 "$vm_pid" 2>/dev/null || break
		sleep 1
	done
	if ! grep -q '^systemd-vm: ' "$run/tests.log"; then
		log "the kvm guest did not reach the test runner (qemu exited, or ${limit}s passed); repeating under tcg"
		kill "$vm_pid" 2>/dev/null || true
		wait "$vm_pid" 2>/dev/null || true
		cp "$run/console.log" "$run/console-kvm.log" 2>/dev/null || true
		accel=tcg
		t0=$(now)
		start_vm tcg
	fi
fi
set +e
wait "$vm_pid"
rc=$?
set -e
sleep 0.5 # let tail print the last lines
log "VM ran $(since "$t0") under $accel; test-systemd took $(since "$t_start")"
vm_result "$rc" "$run/console.log" "$vm_timeout"
