package cgroup

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestHostKeepsLayoutUntilMountsChange(t *testing.T) {
	var h Host
	t.Cleanup(func() { _ = h.Close() })
	a, err := h.FS()
	if err != nil {
		t.Skipf("no cgroup filesystem: %v", err)
	}
	b, err := h.FS()
	if err != nil || b != a {
		t.Fatalf("second FS: %p %v, want the layout read first (%p)", b, err, a)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to change the mount table")
	}
	// A tmpfs of the test's own on its own directory: a mount, then an
	// unmount, each must make FS read the layout again.
	dir := t.TempDir()
	if err := unix.Mount("ctop-test", dir, "tmpfs", 0, "size=4k"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	mounted := true
	defer func() {
		if mounted {
			_ = unix.Unmount(dir, unix.MNT_DETACH)
		}
	}()
	c, err := h.FS()
	if err != nil || c == a {
		t.Fatalf("after a mount: %p %v, want a layout read again", c, err)
	}
	if d, _ := h.FS(); d != c {
		t.Errorf("no change since the last call, yet the layout was read again")
	}
	if err := unix.Unmount(dir, 0); err != nil {
		t.Fatal(err)
	}
	mounted = false
	if e, _ := h.FS(); e == c {
		t.Errorf("after an unmount the old layout was kept")
	}
}
