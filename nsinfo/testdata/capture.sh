#!/bin/sh
# capture.sh DEST PID... copies what nsinfo reads of each process from the
# live /proc into DEST/proc/PID: the files as plain files, the ns links as
# symlinks to their text ("pid:[4026531836]"), the root link as a symlink.
# Links that cannot be read (pid 1 on some hosts) are left out. This is how
# testdata/hybrid was made; tests need no setup and do not run it.
set -eu
dest=$1; shift
for pid in "$@"; do
	d=$dest/proc/$pid
	mkdir -p "$d/ns"
	for f in stat status cgroup uid_map gid_map cmdline; do
		cat "/proc/$pid/$f" > "$d/$f"
	done
	for t in mnt net pid uts ipc user cgroup time; do
		if l=$(readlink "/proc/$pid/ns/$t" 2>/dev/null); then
			ln -sfn "$l" "$d/ns/$t"
		fi
	done
	if l=$(readlink "/proc/$pid/root" 2>/dev/null); then
		ln -sfn "$l" "$d/root"
	fi
done
