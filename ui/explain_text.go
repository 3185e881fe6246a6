package ui

import "github.com/ctop-dev/ctop/nsinfo"

// Texts for the explain panel: what each namespace isolates and what each
// controller limits, in two or three plain sentences.

var nsExplain = map[nsinfo.Type]string{
	nsinfo.Mnt: "A mount namespace gives its processes their own list of mounts. Mounting or unmounting inside it changes nothing " +
		"outside, which is how a container gets its own root filesystem (with pivot_root) and its own /proc.",
	nsinfo.PID: "A pid namespace numbers its processes from 1. Processes inside see only each other; the host still sees them, " +
		"under their ordinary host pids. The first process is the namespace's init: when it exits, the kernel kills the rest.",
	nsinfo.Net: "A network namespace has its own interfaces, addresses, routes, firewall rules and ports. A new one holds only a " +
		"loopback interface; a container reaches the outside through a veth pair to a host bridge, or shares the host's stack.",
	nsinfo.IPC: "An IPC namespace separates System V shared memory, semaphores and message queues, and POSIX message queues, " +
		"so processes can only meet over IPC when they share it.",
	nsinfo.UTS: "A UTS namespace has its own hostname and NIS domain name. Setting the hostname inside changes nothing on the host.",
	nsinfo.User: "A user namespace maps user and group ids: uid 0 inside may be an ordinary user outside (see its uid map). " +
		"Capabilities held inside count only for resources that namespace owns.",
	nsinfo.Cgroup: "A cgroup namespace makes the process's own cgroup look like the root of the cgroup tree, so /proc/self/cgroup " +
		"and a mounted cgroupfs do not reveal where on the host it sits.",
	nsinfo.Time: "A time namespace offsets the monotonic and boot-time clocks, so a process moved between hosts keeps " +
		"consistent clocks. The wall clock is the same everywhere.",
}

// controllerExplain says what each cgroup controller limits and accounts.
var controllerExplain = map[string]string{
	"cpu": "The cpu controller shares and caps CPU time. A quota (cpu.max) lets a group run for QUOTA microseconds in " +
		"every PERIOD and then throttles it until the next period; a weight shares spare time in proportion.",
	"cpuacct": "The v1 cpuacct controller counts the CPU time a group's processes use (cpuacct.usage). On v2 the cpu " +
		"controller's cpu.stat does it.",
	"memory": "The memory controller counts the memory a group's processes use, page cache included, and limits it. " +
		"Above memory.high the kernel reclaims and slows the group; at memory.max it reclaims and, failing that, " +
		"the OOM killer ends a process in the group. docker stats, kubectl top and the kubelet show less than the usage: " +
		"the working set, usage less the inactive file pages (page cache not touched lately, which the kernel drops " +
		"first under pressure). A group that reads many files can be near its limit in usage and far below it in working set.",
	"pids": "The pids controller limits how many tasks (processes and threads) a group may hold. At pids.max, fork() " +
		"and clone() fail with EAGAIN, which stops fork bombs.",
	"io": "The io controller (blkio on v1) counts each block device's reads and writes per group and can cap bytes and " +
		"operations per second per device (io.max), or share bandwidth by weight.",
	"blkio": "The v1 blkio controller counts each block device's reads and writes per group and can throttle them " +
		"(blkio.throttle.*). On v1 it sees only direct IO, not writes that go through the page cache.",
	"cpuset": "The cpuset controller pins a group to some CPUs and memory nodes (cpuset.cpus, cpuset.mems).",
	"hierarchy": "cgroup v1 has one tree per controller (or per co-mounted set such as cpu,cpuacct), so a process can be " +
		"in different groups for different controllers. cgroup v2 has one unified tree for every controller, and " +
		"a group's controllers are enabled by its parent's cgroup.subtree_control. Hybrid hosts mount v1 trees and a " +
		"mostly empty v2 tree side by side.",
}
