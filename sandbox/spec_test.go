package sandbox

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ctop-dev/ctop/cgroup"
)

func TestDefaultSwap(t *testing.T) {
	for _, tc := range []struct {
		name, mountinfo, file string
		want                  uint64 // 0: no swap limit set
	}{
		{"v1 with swap accounting", "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", "sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", 64 << 20},
		{"v1 without", "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", "", 0},
		{"v2 with swap accounting", "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "sys/fs/cgroup/init.scope/memory.swap.max", 64 << 20},
		{"v2 without", "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "sys/fs/cgroup/init.scope/memory.max", 0},
	} {
		root := t.TempDir()
		for name, body := range map[string]string{"proc/self/mountinfo": tc.mountinfo, "sys/fs/cgroup/cgroup.controllers": "memory\n", tc.file: "max\n"} {
			if name == "" {
				continue
			}
			if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		f, err := cgroup.Open(root)
		if err != nil {
			t.Fatal(err)
		}
		mem := cgroup.LimitOf(32 << 20)
		s := Spec{Resources: cgroup.Resources{MemoryMax: &mem}}
		s.DefaultSwap(f)
		r := s.Resources
		var got uint64
		if r.MemorySwap != nil {
			got = r.MemorySwap.V
		}
		if got != tc.want {
			t.Errorf("%s: memory+swap %d, want %d", tc.name, got, tc.want)
		}
		// An explicit --memory-swap is kept.
		sw := cgroup.LimitOf(40 << 20)
		s = Spec{Resources: cgroup.Resources{MemoryMax: &mem, MemorySwap: &sw}}
		if s.DefaultSwap(f); s.Resources.MemorySwap.V != 40<<20 {
			t.Errorf("%s: explicit memory+swap changed to %d", tc.name, s.Resources.MemorySwap.V)
		}
		// No memory limit, or an unlimited one: no swap limit either.
		for _, m := range []*cgroup.Limit{nil, &cgroup.Max} {
			s = Spec{Resources: cgroup.Resources{MemoryMax: m}}
			if s.DefaultSwap(f); s.Resources.MemorySwap != nil {
				t.Errorf("%s: memory %v gave memory+swap %v", tc.name, m, *s.Resources.MemorySwap)
			}
		}
	}
}

// TestValidateChangesNothing: Validate only checks; normalize is the step
// that fills defaults and makes a relative rootfs absolute.
func TestValidateChangesNothing(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rel, err := filepath.Rel(wd, dir)
	if err != nil {
		t.Fatal(err)
	}
	spec := func() Spec {
		return Spec{Name: "box", Command: []string{"true"}, Namespaces: DefaultNamespaces(), Network: NetworkNone, Rootfs: rel}
	}
	s := spec()
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if want := spec(); !reflect.DeepEqual(s, want) {
		t.Errorf("Validate changed the spec:\n%+v\nwant\n%+v", s, want)
	}
	if err := s.normalize(); err != nil {
		t.Fatal(err)
	}
	if s.Rootfs != dir || s.Hostname != "box" || s.CgroupParent != DefaultCgroupParent || s.StateDir != DefaultStateDir {
		t.Errorf("normalize: rootfs %q hostname %q parent %q state %q, want %q box and the defaults", s.Rootfs, s.Hostname, s.CgroupParent, s.StateDir, dir)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("Validate after normalize: %v", err)
	}
}
