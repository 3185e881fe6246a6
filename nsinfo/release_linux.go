package nsinfo

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ReleaseExecutable hands back to the kernel the resident pages of the
// running program's code and constant data, and has the ones touched again
// read back a page at a time.
//
// A Go program maps its whole executable, and starting up (every
// package's init, the command line) touches pages all over it, each fault
// mapping up to 64 KiB around the page asked for ("fault-around"): ctop's
// 25 MB binary leaves some 14 MiB resident, of which a refresh loop uses a
// few. madvise(2) MADV_PAGEOUT drops the pages only this process maps
// (they are clean: the file has them) and MADV_RANDOM stops the kernel
// from reading and mapping around later faults, so the resident set
// becomes what the program runs. It is for a long-running process that
// is done starting up; a page dropped and needed again costs a read of
// one page.
func ReleaseExecutable() error {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return fmt.Errorf("release executable: %w", err)
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return fmt.Errorf("release executable: %w", err)
	}
	defer f.Close()
	dev := fmt.Sprintf("%02x:%02x", unix.Major(st.Dev), unix.Minor(st.Dev))
	ms, err := readOnlyFileMappings(f, dev, st.Ino)
	if err != nil {
		return fmt.Errorf("release executable: read /proc/self/maps: %w", err)
	}
	for _, m := range ms {
		for _, advice := range []int{unix.MADV_RANDOM, unix.MADV_PAGEOUT} {
			// The raw call: the range is the kernel's, not a Go slice.
			if _, _, e := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, uintptr(advice)); e != 0 {
				return fmt.Errorf("release executable: madvise %x-%x (%d): %w", m.start, m.end, advice, e)
			}
		}
	}
	return nil
}
