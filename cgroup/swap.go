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
