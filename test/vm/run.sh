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
go=${GO:-go}
if ! command -v "$go" >/dev/null && [ -x /usr/local/go/bin/go ]; then
	go=/usr/local/go/bin/go
fi

log() { printf 'test-v2: %s\n' "$*" >&2; }
die() {
	log "$*"
	exit 2
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

for tool in qemu-system-x86_64 busybox cpio mkfs.ext4 depmod modprobe apt-get dpkg-deb ldd timeout; do
	command -v "$tool" >/dev/null ||
		die "$tool not found: run 'make deps' as root (Debian packages qemu-system-x86 busybox-static cpio e2fsprogs kmod)"
done

mkdir -p "$cache"
exec 9>"$cache/lock"
if ! flock -n 9; then
	log "waiting for another test-v2 run in this tree to finish"
	flock -w "$vm_timeout" 9 || die "another test-v2 run still holds $cache/lock after ${vm_timeout}s"
fi

# fetch_kernel unpacks the kernel package into $cache/kernel/NAME and prints
# that directory. The meta package (linux-image-amd64) names the real one.
fetch_kernel() {
	local name dir tmp deb
	resolve() {
		case $kernel_pkg in
		linux-image-[0-9]*) echo "$kernel_pkg" ;;
		*) apt-cache depends "$kernel_pkg" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }' ;;
		esac
	}
	name=$(resolve)
	if [ -z "$name" ] || [ ! -d "$cache/kernel/$name" ]; then
		if [ -z "$name" ] && [ "$(id -u)" = 0 ]; then
			log "apt-get update (no candidate for $kernel_pkg)"
			apt-get update -qq >/dev/null || true
			name=$(resolve)
		fi
		if [ -z "$name" ]; then
			# Offline: fall back to the newest kernel already cached.
			name=$(ls -1 "$cache/kernel" 2>/dev/null | sort -V | tail -n 1)
			[ -n "$name" ] || die "cannot resolve $kernel_pkg with apt-cache and no kernel is cached in $cache/kernel"
			log "using cached kernel $name"
		fi
	fi
	dir=$cache/kernel/$name
	if [ ! -e "$dir/.done" ]; then
		log "fetching $name"
		tmp=$(mktemp -d "$cache/fetch.XXXXXX")
		(cd "$tmp" && apt-get download -q=2 -o APT::Sandbox::User=root "$name") >&2 ||
			die "apt-get download $name failed"
		deb=$(ls "$tmp"/*.deb)
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg-deb -x "$deb" "$dir/root"
		rm -rf "$tmp"
		local ver
		ver=$(ls "$dir/root/lib/modules")
		depmod -b "$dir/root" "$ver"
		echo "$ver" >"$dir/release"
		extract_vmlinux "$dir/root/boot/vmlinuz-$ver" "$dir/vmlinux" ||
			log "could not extract vmlinux from vmlinuz-$ver; booting the compressed image (slower)"
		touch "$dir/.done"
		# Keep one kernel: the one the package names now.
		for old in "$cache"/kernel/*; do
			[ "$old" = "$dir" ] || rm -rf "$old"
		done
	fi
	echo "$dir"
}

# extract_vmlinux decompresses the kernel inside a bzImage to a plain ELF
# vmlinux, as the kernel's scripts/extract-vmlinux does. qemu boots it
# through its PVH entry point, which skips the real-mode setup and the
# decompression (seconds under TCG) on every boot.
extract_vmlinux() {
	local in=$1 out=$2 magic cmd off
	for magic in 'xz \xfd7zXZ\x00' 'zstd \x28\xb5\x2f\xfd' 'gzip \x1f\x8b\x08'; do
		cmd=${magic%% *}
		command -v "$cmd" >/dev/null || continue
		for off in $(LC_ALL=C grep -obUaP "${magic#* }" "$in" | cut -d: -f1); do
			tail -c "+$((off + 1))" "$in" | "$cmd" -dc >"$out" 2>/dev/null
			if [ "$(head -c 4 "$out" | od -An -c | tr -d ' ')" = '177ELF' ]; then
				return 0
			fi
		done
	done
	rm -f "$out"
	return 1
}

# ship copies a dynamically linked host binary and the libraries it needs
# (ldd) into the staging tree at the same paths.
ship() {
	local bin=$1 dest=$2 lib
	mkdir -p "$stage$(dirname "$dest")"
	cp -L "$bin" "$stage$dest"
	for lib in $(ldd "$bin" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
		if [ ! -e "$stage$lib" ]; then
			mkdir -p "$stage$(dirname "$lib")"
			cp -L "$lib" "$stage$lib"
		fi
	done
}

# test_packages prints "importpath dir" for every package to test.
test_packages() {
	if [ -n "${VM_PKGS:-}" ]; then
		# shellcheck disable=SC2086
		"$go" list -f '{{.ImportPath}} {{.Dir}}' $VM_PKGS
		return
	fi
	"$go" list -f '{{.ImportPath}} {{.Dir}} {{join .TestGoFiles " "}} {{join .XTestGoFiles " "}}' ./... |
		while read -r ip dir files; do
			[ -n "$files" ] || continue
			# shellcheck disable=SC2086
			if (cd "$dir" && grep -q 'Geteuid()' $files); then
				echo "$ip $dir"
			fi
		done
}

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
module=$("$go" list -m)
pkgs=$(test_packages)
[ -n "$pkgs" ] || die "no packages with root tests found (set VM_PKGS)"
while read -r ip dir; do
	name=${ip#"$module"}
	name=${name#/}
	name=${name//\//_}
	[ -n "$name" ] || name=root
	mkdir -p "$stage/tests/$name"
	"$go" test -c -o "$stage/tests/$name/$name.test" "$ip" || {
		log "FAIL: go test -c $ip"
		exit 1
	}
	if [ ! -e "$stage/tests/$name/$name.test" ]; then
		rmdir "$stage/tests/$name"
		continue
	fi
	echo "$ip" >"$stage/tests/$name/package"
	# The binary runs in a copy of its package's directory inside a mirror
	# of the repository's testdata, so a test that reads another package's
	# fixtures (../../cgroup/testdata) finds them as on the host.
	rel=${dir#"$root"}
	mkdir -p "$stage/src/$rel"
	echo "/src/$rel" >"$stage/tests/$name/cwd"
done <<<"$pkgs"
while read -r td; do
	mkdir -p "$stage/src/$(dirname "$td")"
	cp -a "$td" "$stage/src/$td"
done < <(find . -path ./.vm-cache -prune -o -path ./.git -prune -o -type d -name testdata -print | sed 's|^\./||')
log "test binaries: $(ls "$stage/tests" | tr '\n' ' ')"

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
mkdir -p "$stage/etc/ctop-vm" "$stage/lib/modules/$kver"
: >"$stage/etc/ctop-vm/modules"
for m in $modules; do
	modprobe -d "$kdir/root" -S "$kver" --show-depends "$m" | while read -r kind path _; do
		[ "$kind" = insmod ] || continue
		base=$(basename "$path")
		base=${base%.xz}
		base=${base%.zst}
		base=${base%.gz}
		if [ ! -e "$stage/lib/modules/$kver/$base" ]; then
			case $path in
			*.xz) xz -dc "$path" >"$stage/lib/modules/$kver/$base" ;;
			*.zst) zstd -qdc "$path" >"$stage/lib/modules/$kver/$base" ;;
			*.gz) gzip -dc "$path" >"$stage/lib/modules/$kver/$base" ;;
			*) cp "$path" "$stage/lib/modules/$kver/$base" ;;
			esac
			echo "/lib/modules/$kver/$base" >>"$stage/etc/ctop-vm/modules"
		fi
	done
done
[ -s "$stage/etc/ctop-vm/modules" ] || die "no module of '$modules' found in $kdir"

# The environment the tests get: CTOP_VM_* and CTOP_TEST_* from here, but
# not what the VM's init decides itself.
env | grep -E '^CTOP_(VM|TEST)_[A-Z0-9_]*=' |
	grep -vE '^CTOP_TEST_(VM|BLOCKDEV|DISKDIR|BIN)=' >"$stage/etc/ctop-vm/env" || true
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

# The scratch disk. cache=none makes the host bypass its page cache, so the
# guest's io.max throttling meets a disk that does not absorb writes.
truncate -s "${VM_DISK_SIZE:-256M}" "$run/disk.img"
cache_mode=none
if ! dd if=/dev/zero of="$run/disk.img" bs=4096 count=1 oflag=direct conv=notrunc status=none 2>/dev/null; then
	log "$cache has no O_DIRECT; scratch disk uses the host page cache"
	cache_mode=writeback
fi
mkfs.ext4 -q -F -L ctop-scratch "$run/disk.img"

kernel=$kdir/vmlinux
if [ ! -e "$kernel" ]; then
	kernel=$kdir/root/boot/vmlinuz-$kver
fi
bios=()
if [ -e /usr/share/qemu/qboot.rom ]; then
	bios=(-bios /usr/share/qemu/qboot.rom)
fi
append="console=ttyS0 cgroup_no_v1=all panic=-1 quiet mitigations=off rdinit=/init ${VM_APPEND:-}"

qemu=(qemu-system-x86_64 -accel "${VM_ACCEL:-tcg}" -M pc -cpu max "${bios[@]}"
	-smp "${VM_CPUS:-2}" -m "${VM_MEM:-1024}"
	-nodefaults -no-user-config -display none -vga none -no-reboot
	-kernel "$kernel" -initrd "$run/initramfs.cpio" -append "$append"
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

console_tail() {
	log "last lines of the kernel console ($run/console.log):"
	[ -e "$run/console.log" ] || return 0
	tail -n "${1:-30}" "$run/console.log" | sed 's/^/  | /' >&2
}
# The init writes 0x10 (pass) or 0x11 (fail) to isa-debug-exit; qemu exits
# with value<<1 | 1. Status 1 would be ambiguous: qemu's own errors use it.
case $rc in
33)
	log "PASS"
	exit 0
	;;
35)
	log "FAIL: a test binary failed"
	exit 1
	;;
124 | 137)
	log "FAIL: the VM ran past ${vm_timeout}s (VM_TIMEOUT) and was killed"
	console_tail
	exit 1
	;;
0)
	if grep -q 'Kernel panic' "$run/console.log"; then
		log "FAIL: the kernel panicked"
	else
		log "FAIL: the VM stopped without reporting a result"
	fi
	console_tail 50
	exit 1
	;;
*)
	log "FAIL: qemu exited with status $rc"
	console_tail
	exit 1
	;;
esac
