package cgroup

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// removeFiles removes the files under root for which drop is true.
func removeFiles(t *testing.T, root string, drop func(path string) bool) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && drop(p) {
			err = os.Remove(p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSwapAccounted(t *testing.T) {
	keep := func(string) bool { return false }
	noMemsw := func(p string) bool { return strings.Contains(filepath.Base(p), "memory.memsw.") }
	noSwapMax := func(p string) bool { return filepath.Base(p) == "memory.swap.max" }
	for _, tc := range []struct {
		name, tree string
		drop       func(string) bool
		want       bool
	}{
		{"v1 with memsw", "v1", keep, true},
		{"v1 without memsw", "v1", noMemsw, false},
		{"hybrid with memsw", "hybrid", keep, true},
		{"hybrid without memsw", "hybrid", noMemsw, false},
		{"v2 with memory.swap.max", "v2", keep, true},
		{"v2 without memory.swap.max", "v2", noSwapMax, false},
	} {
		root := copyFixture(t, tc.tree)
		removeFiles(t, root, tc.drop)
		f, err := Open(root)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.SwapAccounted(); got != tc.want {
			t.Errorf("%s: SwapAccounted() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestKeepSwap(t *testing.T) {
	mem := LimitOf(768 << 20)
	old := MemoryLimits{Max: LimitOf(512 << 20), Swap: LimitOf(512 << 20)}
	r := Resources{MemoryMax: &mem}
	sw, ok := KeepSwap(true, old, &r)
	if !ok || sw != LimitOf(1280<<20) || r.MemorySwap == nil || *r.MemorySwap != sw {
		t.Errorf("v1, --memory 768m over 512m+512m swap: %v %v, memory+swap %v; want 1280m", sw, ok, r.MemorySwap)
	}
	for _, tc := range []struct {
		name string
		v1   bool
		old  MemoryLimits
		r    Resources
	}{
		{"v2 keeps memory.swap.max by itself", false, old, Resources{MemoryMax: &mem}},
		{"swap given", true, old, Resources{MemoryMax: &mem, MemorySwap: &mem}},
		{"swap unlimited", true, MemoryLimits{Max: old.Max, Swap: Max}, Resources{MemoryMax: &mem}},
		{"no memory", true, old, Resources{}},
	} {
		r := tc.r
		if _, ok := KeepSwap(tc.v1, tc.old, &r); ok || r.MemorySwap != tc.r.MemorySwap {
			t.Errorf("%s: KeepSwap changed the request", tc.name)
		}
	}
}
