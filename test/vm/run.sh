#!/usr/bin/env bash
# run.sh runs the project's root integration tests inside a pure cgroup v2
# kernel: it fetches Debian's kernel package (cached in .vm-cache/), builds an
# initramfs from busybox, the static init in test/vm/init, util-linux tools and
# one `go test -c` binary per package with root integration tests, and boots it
# with qemu (TCG, no KVM) and cgroup_no_v1=all under a hard time limit. Test
# output streams to stdout; the kernel console goes to .vm-cache/run/console.log.
#
# Exit status: 0 when every test binary passed; 1 when a test failed, the
# kernel panicked, the VM stopped without reporting, or the time limit passed;
# 2 when the harness could not set the VM up. See test/vm/README.md.
#
# Settings (environment):
#   VM_TIMEOUT      hard limit for the VM in seconds (default 1200)
#   VM_PKGS         packages to test, e.g. "./cgroup ./sandbox" (default: every
#                   package whose tests call os.Geteuid, i.e. has root tests)
#   VM_KERNEL_PKG   Debian kernel package (default linux-image-amd64)
#   VM_MODULES      kernel modules to load (default virtio_pci virtio_blk ext4
#                   overlay veth; dependencies are added)
#   VM_TOOLS        host binaries to ship with their libraries (default tmux,
#                   prometheus, lsns
#                   unshare nsenter; busybox provides the rest)
#   VM_MEM, VM_CPUS memory in MiB (default 1024) and vCPUs (default 2)
#   VM_DISK_SIZE    size of the scratch disk (default 256M)
#   VM_APPEND       extra kernel command line
#   VM_ACCEL        qemu accelerator (default tcg; kvm where guests do not hang)
#   VM_CACHE        cache directory (default .vm-cache at the repository root)
#   CTOP_VM_*, CTOP_TEST_*  passed into the VM's test environment, e.g.
#                   CTOP_VM_RUN (a -test.run pattern), CTOP_VM_VERBOSE=1 (keep
#                   "=== RUN" lines), CTOP_VM_TEST_TIMEOUT (-test.timeout per
#                   binary, default 5m), CTOP_VM_SELFTEST_FAIL=1,
#                   CTOP_VM_BENCH and CTOP_VM_BENCHTIME (-test.bench and
#                   -test.benchtime: measure on the v2 kernel, with kvm)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${VM_CACHE:-$root/.vm-cache}
vm_timeout=${VM_TIMEOUT:-1200}
kernel_pkg=${VM_KERNEL_PKG:-linux-image-amd64}
modules=${VM_MODULES:-virtio_pci virtio_blk ext4 overlay veth}
tools=${VM_TOOLS:-lsns unshare nsenter tmux prometheus}
harness=test-v2
# shellcheck source=test/vm/lib.sh
. "$root/test/vm/lib.sh"

need qemu-system-x86_64 busybox cpio mkfs.ext4 depmod modprobe apt-get dpkg-deb ldd timeout flock
lock_cache "$vm_timeout"

t_start=$(now)
cd "$root"

t0=$(now)
kdir=$(fetch_kernel)
kver=$(cat "$kdir/release")
log "kernel $kver ($(since "$t0"))"

stage=$cache/build/root
run=$cache/run
rm -rf "$cache/build" "$run"
mkdir -p "$stage" "$run"
t0=$(now)

# The init and the test binaries, statically linked.
export CGO_ENABLED=0
"$go" build -trimpath -o "$stage/init" ./test/vm/init
pkgs=$(test_packages)
[ -n "$pkgs" ] || die "no packages with root tests found (set VM_PKGS)"
build_tests "$stage" / <<<"$pkgs" || exit 1

# busybox and its applets; util-linux tools take precedence over applets.
ship "$(command -v busybox)" /bin/busybox
for tool in $tools; do
	path=$(command -v "$tool") || die "$tool not found on the host (make deps installs it)"
	ship "$path" "/usr/bin/$tool"
done
# tmux (the TUI's end-to-end test) needs the terminal descriptions and the
# C.UTF-8 locale the init sets in LANG.
for ti in /lib/terminfo /usr/share/terminfo /usr/lib/locale/C.utf8; do
	if [ -d "$ti" ]; then
		mkdir -p "$stage$(dirname "$ti")"
		cp -a "$ti" "$stage$ti"
	fi
done
for applet in $("$stage/bin/busybox" --list-full); do
	if [ ! -e "$stage/$applet" ] && [ ! -e "$stage/usr/bin/${applet##*/}" ]; then
		mkdir -p "$stage/$(dirname "$applet")"
		ln -s /bin/busybox "$stage/$applet"
	fi
done

# Kernel modules in load order.
# shellcheck disable=SC2086
copy_modules "$kdir" "$stage" $modules

# The environment the tests get: CTOP_VM_* and CTOP_TEST_* from here, but
# not what the VM's init decides itself.
test_env 'CTOP_TEST_(VM|BLOCKDEV|DISKDIR|BIN)' >"$stage/etc/ctop-vm/env"
# The ctop binary, for end-to-end tests: there is no go command in the VM.
if [ -d cmd/ctop ]; then
	"$go" build -trimpath -o "$stage/usr/local/bin/ctop" ./cmd/ctop
	echo CTOP_TEST_BIN=/usr/local/bin/ctop >>"$stage/etc/ctop-vm/env"
fi

mkdir -p "$stage/etc" "$stage/root" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$stage/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$stage/etc/group"
echo ctop-vm >"$stage/etc/hostname"
if [ "$(id -u)" = 0 ]; then
	mknod -m 600 "$stage/dev/console" c 5 1
fi
(cd "$stage" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) >"$run/initramfs.cpio"
log "initramfs $(du -h "$run/initramfs.cpio" | cut -f1) ($(since "$t0"))"

cache_mode=$(scratch_disk "$run/disk.img" "${VM_DISK_SIZE:-256M}")

append="console=ttyS0 cgroup_no_v1=all panic=-1 quiet mitigations=off rdinit=/init ${VM_APPEND:-}"

# shellcheck disable=SC2046
qemu=(qemu-system-x86_64 -accel "${VM_ACCEL:-tcg}" -M pc -cpu max $(qemu_bios)
	-smp "${VM_CPUS:-2}" -m "${VM_MEM:-1024}"
	-nodefaults -no-user-config -display none -vga none -no-reboot
	-kernel "$(kernel_image "$kdir")" -initrd "$run/initramfs.cpio" -append "$append"
	-device isa-debug-exit,iobase=0xf4,iosize=0x04
	-drive "file=$run/disk.img,if=none,id=scratch,format=raw,cache=$cache_mode"
	-device virtio-blk-pci,drive=scratch
	-serial "file:$run/console.log"
	-chardev stdio,id=tests,signal=off -serial chardev:tests)

log "booting (limit ${vm_timeout}s, kernel console in ${run#"$root"/}/console.log)"
t0=$(now)
set +e
timeout -k 10 "$vm_timeout" "${qemu[@]}" </dev/null
rc=$?
set -e
log "VM ran $(since "$t0"); test-v2 took $(since "$t_start")"
vm_result "$rc" "$run/console.log" "$vm_timeout"
