package cgroup

// memory.stat keys: v2 counts the group and its descendants under plain
// names (cgroup-v2.rst); v1 has the group's own pages under plain names and
// the hierarchical sums under total_* (cgroup-v1/memory.rst 5.2), and
// memory.usage_in_bytes is hierarchical, so v1 reads the total_* keys.
const (
	statFileV2     = "file"
	statInactiveV2 = "inactive_file"
	statFileV1     = "total_cache"
	statInactiveV1 = "total_inactive_file"
)

// workingSet is usage less the inactive file pages, floored at 0: the page
// cache the kernel would drop first under pressure is not counted.
//
// NOTE: this is cAdvisor's rule (container/libcontainer/handler.go,
// setMemoryStats: workingSet = usage - inactive_file on v2, usage -
// total_inactive_file on v1, 0 when inactive exceeds usage), which the
// kubelet uses for eviction and kubectl top shows. docker stats
// (docker/cli cli/command/container/stats_helpers.go,
// calculateMemUsageUnixNoCache) subtracts the same key but shows usage
// unchanged when inactive_file is not below it; the two agree whenever
// inactive_file < usage, which is every group with anything in it but a
// sliver of a moment. The result is unknown when either input is.
func workingSet(usage, inactive U64) U64 {
	if !usage.OK || !inactive.OK {
		return U64{}
	}
	if inactive.V >= usage.V {
		return Known(0)
	}
	return Known(usage.V - inactive.V)
}

// readMemoryStat reads memory.stat's page cache and inactive file pages
// and sets File and WorkingSet (Current must be read before).
func (r *groupReader) readMemoryStat(dir string, v2 bool) {
	fileKey, inactiveKey := statFileV1, statInactiveV1
	if v2 {
		fileKey, inactiveKey = statFileV2, statInactiveV2
	}
	m := &r.g.Stats.Memory
	var inactive U64
	r.flat(dir, "memory.stat", func(k string, v uint64) {
		switch k {
		case fileKey:
			m.File = Known(v)
		case inactiveKey:
			inactive = Known(v)
		}
	})
	m.WorkingSet = workingSet(m.Current, inactive)
}
