#!/bin/bash
# Captures the hybrid fixture from a live cgroup v1 hybrid host (as root).
# It creates /ctopfixture groups with limits and workloads so counters are
# non-zero, copies the readable files of the root and of /ctopfixture in
# every hierarchy, then removes everything it made. Used once; kept so the
# fixture can be re-made and so what it contains is documented.
set -euo pipefail
out=${1:?usage: capture-hybrid.sh OUTDIR}
C=/sys/fs/cgroup
ctrls="cpu cpuacct cpuset memory blkio pids systemd unified"
dev=$(lsblk -dno MAJ:MIN "$(findmnt -no SOURCE /)" | tr -d ' ')
pids=()
cleanup() {
  # Kill every process in the groups (children of the workloads too).
  for _ in 1 2 3; do
    for f in $(find $C/*/ctopfixture -name cgroup.procs 2>/dev/null); do
      for p in $(cat "$f"); do kill -9 "$p" 2>/dev/null || true; done
    done
    sleep 0.5
  done
  wait 2>/dev/null || true
  for c in $ctrls; do
    for d in nested/a/b nested/a nested web oom forky idle ""; do
      rmdir "$C/$c/ctopfixture/$d" 2>/dev/null || true
    done
  done
}
trap cleanup EXIT
for c in $ctrls; do
  for d in web oom forky idle nested/a/b; do mkdir -p "$C/$c/ctopfixture/$d"; done
done
cat $C/cpuset/cpuset.cpus > $C/cpuset/ctopfixture/cpuset.cpus
cat $C/cpuset/cpuset.mems > $C/cpuset/ctopfixture/cpuset.mems
for d in web oom forky idle; do
  echo 0 > $C/cpuset/ctopfixture/$d/cpuset.cpus; cat $C/cpuset/cpuset.mems > $C/cpuset/ctopfixture/$d/cpuset.mems
done
echo 20000 > $C/cpu/ctopfixture/web/cpu.cfs_quota_us
echo $((64<<20)) > $C/memory/ctopfixture/web/memory.limit_in_bytes
echo $((48<<20)) > $C/memory/ctopfixture/web/memory.soft_limit_in_bytes
echo 32 > $C/pids/ctopfixture/web/pids.max
echo "$dev 1048576" > $C/blkio/ctopfixture/web/blkio.throttle.write_bps_device
echo "$dev 500" > $C/blkio/ctopfixture/web/blkio.throttle.read_iops_device
echo $((32<<20)) > $C/memory/ctopfixture/oom/memory.limit_in_bytes
echo 5 > $C/pids/ctopfixture/forky/pids.max
echo 2048 > $C/cpu/ctopfixture/nested/cpu.shares
echo 512 > $C/cpu/ctopfixture/nested/a/b/cpu.shares
join() { for c in $ctrls; do echo "$1" > "$C/$c/ctopfixture/$2/cgroup.procs"; done; }
# web: a 3 s busy loop and 2 MiB of O_DIRECT writes.
sh -c 'read x; t=$(($(date +%s)+3)); while [ $(date +%s) -lt $t ]; do :; done; dd if=/dev/zero of=/var/tmp/ctopfixture.dd bs=64k count=32 oflag=direct 2>/dev/null; rm -f /var/tmp/ctopfixture.dd; sleep 60' < <(sleep 0.5; echo go) &
pids+=($!); join $! web
# oom: allocate past 32 MiB.
sh -c 'sleep 0.5; exec python3 -c "a=bytearray(96<<20)"' & p=$!; join $p oom; wait $p || true
# forky: forks fail at pids.max 5.
sh -c 'sleep 0.5; for i in 1 2 3 4 5 6 7 8; do sleep 30 & done; sleep 60' 2>/dev/null & pids+=($!); join $! forky
sleep 120 & pids+=($!); join $! idle
sleep 5
rm -rf "$out"; mkdir -p "$out/proc/self" "$out/sys/fs/cgroup"
cp /proc/self/mountinfo "$out/proc/self/mountinfo"
cp /proc/cgroups "$out/proc/cgroups"
for c in $ctrls; do
  for d in $(cd $C/$c && find . -maxdepth 0; cd $C/$c && find ctopfixture -type d); do
    mkdir -p "$out/sys/fs/cgroup/$c/$d"
    for f in $C/$c/$d/*; do
      [ -f "$f" ] || continue
      cat "$f" > "$out/sys/fs/cgroup/$c/$d/$(basename "$f")" 2>/dev/null || rm -f "$out/sys/fs/cgroup/$c/$d/$(basename "$f")"
    done
  done
done
