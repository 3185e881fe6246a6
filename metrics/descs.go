package metrics

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

var errNoSnapshot = errors.New("scan returned no snapshot")

// descs are the descriptors of every exported metric. They are built per
// Collector (no package-level state); the names and their cAdvisor
// counterparts are listed in README.md.
type descs struct {
	all []*prometheus.Desc

	scrapeSuccess, scrapeErrors, scrapeDuration, scrapeAge, fileErrors, mode *prometheus.Desc

	info, processes *prometheus.Desc

	cpuUsage, cpuUser, cpuSystem                     *prometheus.Desc
	cpuPeriods, cpuThrottledPeriods, cpuThrottledSec *prometheus.Desc
	cpuQuota, cpuPeriod, cpuWeight, cpuShares        *prometheus.Desc

	memUsage, memWorkingSet, memCache, memPeak, memSwap, memFailcnt, memEvents *prometheus.Desc
	memLimit, memHigh, memLow, memMin, memSwapLimit, memEffective              *prometheus.Desc

	ioReadBytes, ioWriteBytes, ioReads, ioWrites         *prometheus.Desc
	ioLimitRBps, ioLimitWBps, ioLimitRIOps, ioLimitWIOps *prometheus.Desc

	pidsCurrent, pidsMax, pidsMaxEvents *prometheus.Desc

	psiCPUSome, psiCPUFull, psiMemSome, psiMemFull, psiIOSome, psiIOFull *prometheus.Desc

	namespaces, namespaceProcs, namespaceOutside *prometheus.Desc
}

// Label names. Every cgroup series has groupLabels, in this order; the
// names ones are "" (absent to Prometheus) where nothing is known. The set
// is fixed (an allow-list, README.md): no engine or pod label is copied
// through, so a container cannot add series by its labels.
const (
	labelID        = "id"        // the group's path, "/" for the root, as cAdvisor's id
	labelName      = "name"      // names.Name.String(): container, ns/pod/container, sandbox, unit
	labelImage     = "image"     // a container's image
	labelRuntime   = "runtime"   // docker, podman, containerd, cri-o, systemd, ctop, lxc
	labelPod       = "pod"       // a Kubernetes pod's name
	labelNamespace = "namespace" // the pod's Kubernetes namespace
	labelContainer = "container" // the container's name inside its pod
	labelUnit      = "unit"      // the systemd unit the group is
	labelDevice    = "device"    // a block device as "major:minor"
)

// groupLabels returns the labels of every cgroup series, the path first;
// groupValues gives their values in this order.
func groupLabels() []string {
	return []string{labelID, labelName, labelImage, labelRuntime, labelPod, labelNamespace, labelContainer, labelUnit}
}

func newDescs() *descs {
	d := &descs{}
	mk := func(name, help string, labels ...string) *prometheus.Desc {
		desc := prometheus.NewDesc(name, help, labels, nil)
		d.all = append(d.all, desc)
		return desc
	}
	g := func(name, help string, labels ...string) *prometheus.Desc {
		return mk("ctop_cgroup_"+name, help, append(groupLabels(), labels...)...)
	}

	d.scrapeSuccess = mk("ctop_scrape_success", "Whether the last read of the source succeeded (1) or failed (0).", "source")
	d.scrapeErrors = mk("ctop_scrape_errors_total", "Failed reads of the source since ctop serve started.", "source")
	d.scrapeDuration = mk("ctop_scrape_duration_seconds", "How long the last read of the source took.", "source")
	d.scrapeAge = mk("ctop_scrape_age_seconds", "Age of the reading this scrape reports (readings are reused for --interval).")
	d.fileErrors = mk("ctop_cgroup_file_errors", "Cgroup files that could not be read or parsed in the last snapshot (see the log).")
	d.mode = mk("ctop_cgroup_mode_info", "The host's cgroup layout: v1, hybrid or v2 (value 1).", "mode")

	d.info = g("info", "A group ctop reads (value 1); controllers lists those whose files it has, merged across v1 hierarchies.", "controllers")
	d.processes = g("processes", "Processes in the group itself (cgroup.procs).")

	d.cpuUsage = g("cpu_usage_seconds_total", "CPU time consumed by the group and its descendants (cpu.stat usage_usec, v1 cpuacct.usage).")
	d.cpuUser = g("cpu_user_seconds_total", "CPU time in user mode (cpu.stat user_usec, v1 cpuacct.usage_user).")
	d.cpuSystem = g("cpu_system_seconds_total", "CPU time in kernel mode (cpu.stat system_usec, v1 cpuacct.usage_sys).")
	d.cpuPeriods = g("cpu_cfs_periods_total", "Enforcement periods elapsed while the group had runnable tasks and a quota (cpu.stat nr_periods).")
	d.cpuThrottledPeriods = g("cpu_cfs_throttled_periods_total", "Periods in which the group was throttled at its quota (cpu.stat nr_throttled).")
	d.cpuThrottledSec = g("cpu_cfs_throttled_seconds_total", "Total time the group's tasks were throttled (cpu.stat throttled_usec, v1 throttled_time).")
	d.cpuQuota = g("spec_cpu_quota_seconds", "CPU time the group may use per period (cpu.max, v1 cpu.cfs_quota_us); +Inf when unlimited.")
	d.cpuPeriod = g("spec_cpu_period_seconds", "Length of the CPU quota period (cpu.max, v1 cpu.cfs_period_us).")
	d.cpuWeight = g("spec_cpu_weight", "CPU weight, 1..10000 (cpu.weight; on v1 converted from cpu.shares as runc does).")
	d.cpuShares = g("spec_cpu_shares", "v1 cpu.shares as configured.")

	d.memUsage = g("memory_usage_bytes", "Memory in use, page cache included (memory.current, v1 memory.usage_in_bytes).")
	d.memWorkingSet = g("memory_working_set_bytes", "Memory in use less inactive file pages, floored at 0, as cAdvisor, the kubelet and docker stats count it (memory.current - memory.stat inactive_file, v1 memory.usage_in_bytes - total_inactive_file).")
	d.memCache = g("memory_cache_bytes", "Page cache charged to the group (memory.stat file, v1 total_cache).")
	d.memPeak = g("memory_max_usage_bytes", "Highest memory use recorded (memory.peak, v1 memory.max_usage_in_bytes).")
	d.memSwap = g("memory_swap_bytes", "Swap in use (memory.swap.current, v1 memory.memsw.usage_in_bytes minus memory.usage_in_bytes).")
	d.memFailcnt = g("memory_failcnt_total", "Times memory use hit the limit (v1 memory.failcnt).")
	d.memEvents = g("memory_events_total", "Memory limit events (memory.events): low, high (reclaim forced at memory.high), max (memory.max hit), oom, oom_kill.", "event")
	d.memLimit = g("spec_memory_limit_bytes", "Hard memory limit (memory.max, v1 memory.limit_in_bytes); +Inf when unlimited.")
	d.memHigh = g("spec_memory_high_bytes", "Memory throttle limit (memory.high); +Inf when unlimited.")
	d.memLow = g("spec_memory_reservation_limit_bytes", "Memory reservation (memory.low, v1 memory.soft_limit_in_bytes) as the kernel has it: +Inf when unlimited (v1's default, no soft limit), 0 for v2's default (no protection).")
	d.memMin = g("spec_memory_min_bytes", "Hard memory protection (memory.min).")
	d.memSwapLimit = g("spec_memory_swap_limit_bytes", "Swap limit alone, without memory (memory.swap.max; v1 memsw limit minus limit); +Inf when unlimited.")
	d.memEffective = g("effective_memory_limit_bytes", "Tightest hard memory limit on the path from the root to the group; +Inf when none.")

	d.ioReadBytes = g("fs_reads_bytes_total", "Bytes read from the block device (io.stat rbytes, v1 blkio.throttle.io_service_bytes Read).", labelDevice)
	d.ioWriteBytes = g("fs_writes_bytes_total", "Bytes written to the block device (io.stat wbytes, v1 blkio.throttle.io_service_bytes Write).", labelDevice)
	d.ioReads = g("fs_reads_total", "Read operations on the block device (io.stat rios, v1 blkio.throttle.io_serviced Read).", labelDevice)
	d.ioWrites = g("fs_writes_total", "Write operations on the block device (io.stat wios, v1 blkio.throttle.io_serviced Write).", labelDevice)

	d.ioLimitRBps = g("spec_io_read_bytes_per_second", "Read throttle on the block device (io.max rbps, v1 blkio.throttle.read_bps_device); +Inf when unlimited.", labelDevice)
	d.ioLimitWBps = g("spec_io_write_bytes_per_second", "Write throttle on the block device (io.max wbps, v1 blkio.throttle.write_bps_device); +Inf when unlimited.", labelDevice)
	d.ioLimitRIOps = g("spec_io_reads_per_second", "Read operations throttle on the block device (io.max riops, v1 blkio.throttle.read_iops_device); +Inf when unlimited.", labelDevice)
	d.ioLimitWIOps = g("spec_io_writes_per_second", "Write operations throttle on the block device (io.max wiops, v1 blkio.throttle.write_iops_device); +Inf when unlimited.", labelDevice)

	d.pidsCurrent = g("threads", "Tasks (processes and threads) in the group and its descendants (pids.current).")
	d.pidsMax = g("threads_max", "Limit on tasks (pids.max); +Inf when unlimited.")
	d.pidsMaxEvents = g("pids_max_events_total", "Forks refused because the group was at pids.max (pids.events max).")

	psi := "Total time %s (%s.pressure %s total); see Documentation/accounting/psi.rst."
	d.psiCPUSome = g("pressure_cpu_waiting_seconds_total", fmt.Sprintf(psi, "some tasks waited for CPU", "cpu", "some"))
	d.psiCPUFull = g("pressure_cpu_stalled_seconds_total", fmt.Sprintf(psi, "all non-idle tasks were stalled on CPU", "cpu", "full"))
	d.psiMemSome = g("pressure_memory_waiting_seconds_total", fmt.Sprintf(psi, "some tasks waited for memory", "memory", "some"))
	d.psiMemFull = g("pressure_memory_stalled_seconds_total", fmt.Sprintf(psi, "all non-idle tasks were stalled on memory", "memory", "full"))
	d.psiIOSome = g("pressure_io_waiting_seconds_total", fmt.Sprintf(psi, "some tasks waited for IO", "io", "some"))
	d.psiIOFull = g("pressure_io_stalled_seconds_total", fmt.Sprintf(psi, "all non-idle tasks were stalled on IO", "io", "full"))

	d.namespaces = mk("ctop_namespaces", "Distinct namespaces of the type in use by the processes ctop could read (namespaces(7)).", "type")
	d.namespaceProcs = mk("ctop_namespace_processes", "Processes whose namespace of the type ctop could read.", "type")
	d.namespaceOutside = mk("ctop_namespace_processes_outside_host", "Processes not in the host's (initial) namespace of the type.", "type")
	return d
}
