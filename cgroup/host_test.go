package cgroup

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOpenHostKeepsLayoutUntilMountsChange(t *testing.T) {
	a, err := OpenHost()
	if err != nil {
		t.Skipf("no cgroup filesystem: %v", err)
	}
	b, err := OpenHost()
	if err != nil || b != a {
		t.Fatalf("second OpenHost: %p %v, want the layout read first (%p)", b, err, a)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to change the mount table")
	}
	// A tmpfs of the test's own on its own directory: a mount, then an
	// unmount, each must make OpenHost read the layout again.
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
	c, err := OpenHost()
	if err != nil || c == a {
		t.Fatalf("after a mount: %p %v, want a layout read again", c, err)
	}
	if d, _ := OpenHost(); d != c {
		t.Errorf("no change since the last call, yet the layout was read again")
	}
	if err := unix.Unmount(dir, 0); err != nil {
		t.Fatal(err)
	}
	mounted = false
	if e, _ := OpenHost(); e == c {
		t.Errorf("after an unmount the old layout was kept")
	}
}
