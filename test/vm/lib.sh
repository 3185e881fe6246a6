# shellcheck shell=bash
# lib.sh holds what the qemu test harnesses share: test/vm/run.sh (the pure
# cgroup v2 initramfs VM, make test-v2) and test/systemd/run.sh (a Debian
# root filesystem with systemd as PID 1, make test-systemd). Source it after
# setting:
#   root    the repository root
#   cache   the cache directory
#   harness the harness's name, prefixed to its messages (test-v2, ...)
# and optionally kernel_pkg (default linux-image-amd64) and go.

kernel_pkg=${kernel_pkg:-linux-image-amd64}
go=${go:-${GO:-go}}
if ! command -v "$go" >/dev/null && [ -x /usr/local/go/bin/go ]; then
	go=/usr/local/go/bin/go
fi

log() { printf '%s: %s\n' "$harness" "$*" >&2; }
die() {
	log "$*"
	exit 2
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# need dies naming the Debian packages when a tool is missing.
need() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null ||
			die "$tool not found: run 'make deps' as root"
	done
}

# lock_cache takes the cache's lock (fd 9) for the whole run, so two runs in
# one tree do not share a build directory; it waits up to $1 seconds.
lock_cache() {
	mkdir -p "$cache"
	exec 9>"$cache/lock"
	if ! flock -n 9; then
		log "waiting for another run in this tree to finish"
		flock -w "$1" 9 || die "another run still holds $cache/lock after $1s"
	fi
}

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

# kernel_image prints the kernel qemu boots: the plain vmlinux when it could
# be extracted, else the compressed image. $1 is fetch_kernel's directory.
kernel_image() {
	local kdir=$1
	if [ -e "$kdir/vmlinux" ]; then
		echo "$kdir/vmlinux"
	else
		echo "$kdir/root/boot/vmlinuz-$(cat "$kdir/release")"
	fi
}

# copy_modules copies modules $3... and their dependencies, decompressed,
# from the unpacked kernel $1 into the staging tree $2 under
# /lib/modules/VERSION, and appends their paths there, in load order, to
# $2/etc/ctop-vm/modules.
copy_modules() {
	local kdir=$1 stage=$2 kver m kind path base
	shift 2
	kver=$(cat "$kdir/release")
	mkdir -p "$stage/etc/ctop-vm" "$stage/lib/modules/$kver"
	touch "$stage/etc/ctop-vm/modules"
	for m in "$@"; do
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
	[ -s "$stage/etc/ctop-vm/modules" ] || die "no module of '$*' found in $kdir"
}

# ship copies a dynamically linked host binary and the libraries it needs
# (ldd) into the staging tree $stage at the same paths.
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

# test_packages prints "importpath dir" for every package to test: $VM_PKGS,
# or every package whose tests call os.Geteuid (has root tests).
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

# build_tests builds one static `go test -c` binary per package listed on
# stdin ("importpath dir", as test_packages prints) into $1/tests/NAME/, with
# the package's import path in NAME/package and, in NAME/cwd, the directory
# it runs in: its package's directory in a mirror of the repository's
# testdata under $1/src, so a test that reads another package's fixtures
# (../../cgroup/testdata) finds them as on the host. $2 is the path the
# staging tree $1 will have when the tests run (/ for an initramfs).
build_tests() {
	local stage=$1 prefix=${2%/} module ip dir tname rel td
	module=$("$go" list -m)
	while read -r ip dir; do
		tname=${ip#"$module"}
		tname=${tname#/}
		tname=${tname//\//_}
		[ -n "$tname" ] || tname=root
		mkdir -p "$stage/tests/$tname"
		CGO_ENABLED=0 "$go" test -c -o "$stage/tests/$tname/$tname.test" "$ip" || {
			log "FAIL: go test -c $ip"
			return 1
		}
		if [ ! -e "$stage/tests/$tname/$tname.test" ]; then
			rmdir "$stage/tests/$tname"
			continue
		fi
		echo "$ip" >"$stage/tests/$tname/package"
		rel=${dir#"$root"}
		mkdir -p "$stage/src/$rel"
		echo "$prefix/src/$rel" >"$stage/tests/$tname/cwd"
	done
	while read -r td; do
		mkdir -p "$stage/src/$(dirname "$td")"
		cp -a "$root/$td" "$stage/src/$td"
	done < <(cd "$root" && find . -path ./.vm-cache -prune -o -path ./.git -prune -o -type d -name testdata -print | sed 's|^\./||')
	log "test binaries: $(ls "$stage/tests" | tr '\n' ' ')"
}

# test_env prints the CTOP_VM_* and CTOP_TEST_* variables of the caller that
# reach the tests, less those the VM decides itself (named by the ERE $1).
test_env() {
	env | grep -E '^CTOP_(VM|TEST)_[A-Z0-9_]*=' | grep -vE "^($1)=" || true
}

# scratch_disk makes the empty ext4 disk $1 of size $2 and prints the qemu
# cache mode for it: none makes the host bypass its page cache, so the
# guest's io.max throttling meets a disk that does not absorb writes.
scratch_disk() {
	truncate -s "$2" "$1"
	local mode=none
	if ! dd if=/dev/zero of="$1" bs=4096 count=1 oflag=direct conv=notrunc status=none 2>/dev/null; then
		log "$(dirname "$1") has no O_DIRECT; the scratch disk uses the host page cache"
		mode=writeback
	fi
	mkfs.ext4 -q -F -L ctop-scratch "$1"
	echo "$mode"
}

# qemu_bios prints qemu's -bios option for qboot when it is installed: it
# starts faster than SeaBIOS.
qemu_bios() {
	if [ -e /usr/share/qemu/qboot.rom ]; then
		echo "-bios /usr/share/qemu/qboot.rom"
	fi
}

# console_tail prints the last $2 lines of the kernel console log $1.
console_tail() {
	log "last lines of the kernel console ($1):"
	[ -e "$1" ] || return 0
	tail -n "${2:-30}" "$1" | sed 's/^/  | /' >&2
}

# vm_result turns qemu's exit status $1 into the harness's: the guest writes
# 0x10 (pass) or 0x11 (fail) to isa-debug-exit and qemu exits with
# value<<1 | 1 (33 or 35; status 1 would be ambiguous: qemu's own errors use
# it). $2 is the console log, $3 the time limit.
vm_result() {
	local rc=$1 console=$2 limit=$3
	case $rc in
	33)
		log "PASS"
		return 0
		;;
	35)
		log "FAIL: a test binary failed"
		return 1
		;;
	124 | 137)
		log "FAIL: the VM ran past ${limit}s (VM_TIMEOUT) and was killed"
		console_tail "$console"
		return 1
		;;
	0)
		if grep -q 'Kernel panic' "$console"; then
			log "FAIL: the kernel panicked"
		else
			log "FAIL: the VM stopped without reporting a result"
		fi
		console_tail "$console" 50
		return 1
		;;
	*)
		log "FAIL: qemu exited with status $rc"
		console_tail "$console"
		return 1
		;;
	esac
}
