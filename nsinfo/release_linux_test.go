package nsinfo

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// rssFileKB is RssFile of this process (proc_pid_status(5)).
func rssFileKB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

// The test binary's code leaves the resident set, and runs on afterwards.
func TestReleaseExecutable(t *testing.T) {
	// An executable in an initramfs (the test VMs run theirs from one)
	// is memory with no file to read it back from: it counts as shared
	// memory, not file pages, and cannot be paged out.
	var sfs unix.Statfs_t
	if err := unix.Statfs("/proc/self/exe", &sfs); err == nil && (sfs.Type == unix.TMPFS_MAGIC || sfs.Type == unix.RAMFS_MAGIC) {
		t.Skip("the test binary is on a tmpfs or ramfs: its pages have no file to be dropped to")
	}
	before := rssFileKB(t)
	if err := ReleaseExecutable(); err != nil {
		t.Fatal(err)
	}
	after := rssFileKB(t)
	if after >= before {
		t.Errorf("RssFile %d kB after release, %d kB before: want less", after, before)
	}
	// Code dropped is read back when run.
	if _, err := parseMapping("00400000-00401000 r-xp 00000000 fe:00 1 /x"); err != nil {
		t.Error(err)
	}
}
