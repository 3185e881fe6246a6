package cgroup

import (
	"os"
	"path/filepath"
)

// SwapAccounted reports whether the kernel limits swap per group, which
// depends on where the memory controller is mounted. v1 has
// memory.memsw.* files only when swap accounting is on (CONFIG_MEMCG_SWAP
// and no swapaccount=0 on the kernel command line; cgroups(7)). v2 has
// memory.swap.max in non-root groups only (cgroup-v2.rst), so a child of
// the root is looked for; the root itself never has it.
func (f *FS) SwapAccounted() bool {
	h, ok := f.Hierarchy("memory")
	if !ok {
		return false
	}
	root := f.path(h.Mountpoint)
	if h.Version == 1 {
		_, err := os.Stat(filepath.Join(root, "memory.memsw.limit_in_bytes"))
		return err == nil
	}
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, e.Name(), "memory.swap.max")); err == nil {
			return true
		}
	}
	return false
}

// KeepSwap makes a memory limit given alone keep the group's swap
// allowance, as docker update does: on v1 the kernel limits memory+swap
// together (memory.memsw.limit_in_bytes, cgroups(7)), so raising
// memory.limit_in_bytes alone would shrink what is left for swap; KeepSwap
// sets r's memory+swap to the new memory + the old swap instead. v2 limits
// swap alone (memory.swap.max, cgroup-v2.rst), which a memory.max write
// leaves as it is. old are the group's limits before the change. It
// returns the new memory+swap limit when it set one, and leaves r alone
// when swap was given, unlimited, or memory not set to a number.
func KeepSwap(v1 bool, old MemoryLimits, r *Resources) (Limit, bool) {
	if !v1 || r.MemoryMax == nil || r.MemorySwap != nil || !r.MemoryMax.Finite() || !old.Swap.Finite() || !old.Max.Finite() {
		return Limit{}, false
	}
	sw := LimitOf(r.MemoryMax.V + old.Swap.V)
	r.MemorySwap = &sw
	return sw, true
}
