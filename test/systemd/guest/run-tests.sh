#!/bin/bash
# run-tests.sh (ctop-test.service) runs every test binary under
# /opt/ctop-test/tests once provisioning is over, streams their output to the
# second serial port, which the host shows, and reports the result through
# qemu's isa-debug-exit device: 0x10 when every binary passed, 0x11 when not.
set -uo pipefail

opt=/opt/ctop-test
out=/dev/ttyS1
stty -F "$out" raw -echo 2>/dev/null || true
exec >"$out" 2>&1

say() { echo "systemd-vm: $*"; }
report() {
	printf "\\$(printf %o "$1")" | dd of=/dev/port bs=1 seek=244 count=1 conv=notrunc 2>/dev/null
	sleep 2
	systemctl poweroff --force --force
}
say "systemd $(systemctl --version | head -n1 | cut -d' ' -f2) up $(cut -d' ' -f1 /proc/uptime)s, kernel $(uname -r)"

failed=()
if ! systemctl is-active -q ctop-provision.service; then
	say "FAIL provisioning (ctop-provision.service $(systemctl is-active ctop-provision.service)):"
	journalctl -b -u ctop-provision.service --no-pager -o cat | tail -n 40
	failed+=(provision)
fi

mkdir -p /mnt/disk
mount /dev/vdb /mnt/disk

env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=xterm
	CTOP_TEST_SYSTEMD=1 CTOP_TEST_BLOCKDEV=/dev/vdb CTOP_TEST_DISKDIR=/mnt/disk)
for f in "$opt/env" /run/ctop-test/env; do
	[ -e "$f" ] || continue
	while IFS= read -r line; do
		[ -n "$line" ] && env+=("$line")
	done <"$f"
done
lookup() {
	local kv v=
	for kv in "${env[@]}"; do
		[ "${kv%%=*}" = "$1" ] && v=${kv#*=}
	done
	echo "$v"
}
args=(-test.count=1 -test.v "-test.timeout=$(lookup CTOP_VM_TEST_TIMEOUT | grep . || echo 5m)")
[ -n "$(lookup CTOP_VM_RUN)" ] && args+=("-test.run=$(lookup CTOP_VM_RUN)")
# Benchmarks matching CTOP_VM_BENCH, CTOP_VM_BENCHTIME (default 20x) each.
[ -n "$(lookup CTOP_VM_BENCH)" ] && args+=("-test.bench=$(lookup CTOP_VM_BENCH)" "-test.benchtime=$(lookup CTOP_VM_BENCHTIME | grep . || echo 20x)")
verbose=$(lookup CTOP_VM_VERBOSE)

start=$(date +%s.%N)
n=0
for dir in "$opt"/tests/*/; do
	dir=${dir%/}
	tname=$(basename "$dir")
	n=$((n + 1))
	say "=== $(cat "$dir/package")"
	t0=$(date +%s.%N)
	# Each binary runs in a scope of its own, as a command in a login
	# session does; stopping the scope kills what it left running.
	(cd "$(cat "$dir/cwd")" && exec env -i "${env[@]}" systemd-run --quiet --scope \
		--unit="ctop-test-bin-$tname" "$dir/$tname.test" "${args[@]}") 2>&1 |
		if [ "$verbose" = 1 ]; then cat; else grep -Ev '^ *=== (RUN|PAUSE|CONT) +[^ ]+/'; fi
	rc=${PIPESTATUS[0]}
	systemctl stop "ctop-test-bin-$tname.scope" 2>/dev/null
	took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	if [ "$rc" = 0 ]; then
		say "ok   $tname ${took}s"
	else
		say "FAIL $tname (exit status $rc) ${took}s"
		failed+=("$tname")
	fi
done
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
units=$(systemctl --failed --plain --no-legend | awk '{ print $1 }' | tr '\n' ' ')
say "failed units: ${units:-none}"
for unit in $units; do
	say "journal of $unit:"
	journalctl -b -u "$unit" --no-pager -o cat | tail -n 20
done
say "$n test binaries in ${took}s, ${#failed[@]} failed ${failed[*]}"
if [ ${#failed[@]} = 0 ]; then
	report 16
else
	report 17
fi
