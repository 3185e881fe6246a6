package sandbox

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// maskedPaths are hidden with /dev/null or an empty read-only tmpfs, and
// readonlyPaths remounted read-only: the lists docker (moby's
// oci.DefaultSpec) applies to every container.
func maskedPaths() []string {
	return []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
}

func readonlyPaths() []string {
	return []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
}

func mount(src, target, fstype string, flags uintptr, data string) error {
	if err := unix.Mount(src, target, fstype, flags, data); err != nil {
		what := fstype
		if what == "" {
			what = src
		}
		return fmt.Errorf("mount %s on %s: %w", what, target, err)
	}
	return nil
}

// remountRO makes a bind mount read-only, keeping the flags the kernel
// locks (nosuid, nodev, noexec, atime) as they are.
func remountRO(target string) error {
	// One call makes the whole tree under target read-only, submounts of
	// a recursive bind included (mount_setattr, Linux 5.12).
	err := unix.MountSetattr(unix.AT_FDCWD, target, unix.AT_RECURSIVE, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY})
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("make %s read-only: %w", target, err)
	}
	return remountTopRO(target)
}

// remountTopRO makes the mount at target read-only, for kernels without
// mount_setattr; submounts keep their mode.
func remountTopRO(target string) error {
	flags, err := lockedFlags(target)
	if err != nil {
		return err
	}
	return mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|flags, "")
}

// lockedFlags returns the flags of the mount at path that a remount must
// repeat: the kernel refuses to clear nosuid, nodev, noexec or the atime
// mode of a mount made in another namespace.
func lockedFlags(path string) (uintptr, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	var flags uintptr
	for _, f := range []struct{ st, ms int64 }{
		{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if int64(st.Flags)&f.st != 0 {
			flags |= uintptr(f.ms)
		}
	}
	return flags, nil
}

// tmpfsData is the mount data of a --tmpfs.
func tmpfsData(t Tmpfs) string {
	mode := t.Mode
	if mode == 0 {
		mode = 0o1777
	}
	data := "mode=" + strconv.FormatUint(uint64(mode), 8)
	if t.Size > 0 {
		data += ",size=" + strconv.FormatUint(t.Size, 10)
	}
	return data
}

// setupSys mounts a read-only sysfs; one mounted in a new network namespace
// shows only that namespace's interfaces. Without one the kernel refuses a
// new sysfs to a user namespace, so the host's is bound read-only.
func setupSys(sys string, newNet bool) error {
	if err := os.MkdirAll(sys, 0o555); err != nil {
		return fmt.Errorf("/sys: %w", err)
	}
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY)
	err := mount("sysfs", sys, "sysfs", flags, "")
	if err == nil || newNet {
		return err
	}
	if err := mount("/sys", sys, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	return remountRO(sys)
}

// pivot makes root the root directory with pivot_root(2) and detaches the
// old root, so nothing of the host's tree stays reachable (chroot would
// leave it reachable).
func pivot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("pivot_root: chdir %s: %w", root, err)
	}
	// pivot_root(".", ".") stacks the old root under the new one; it is
	// then unmounted from "." (the runc idiom, no put_old directory needed).
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", root, err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("pivot_root: detach old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("pivot_root: chdir /: %w", err)
	}
	return nil
}
