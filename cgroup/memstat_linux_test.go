package cgroup

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestLiveWorkingSetExcludesPageCache: a process that reads a file it did
// not have cached fills its group's page cache; the pages read once sit on
// the inactive list, so the working set stays below usage by about the
// file's size, and File counts them.
func TestLiveWorkingSetExcludesPageCache(t *testing.T) {
	f := requireRoot(t)
	const size = 32 * mib
	// A file on disk (not tmpfs, whose pages are shmem and anonymous),
	// written and then dropped from the cache so the reader charges it.
	dir, err := os.MkdirTemp("/var/tmp", "ctop-test-")
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	file := filepath.Join(dir, "data")
	fh, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	if err := fh.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(fh.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	fh.Close()

	g := newLiveGroup(t, f, "memory")
	// The reader waits for a line, so it reads only once it is in the group.
	cmd := g.cmd("sh", "-c", `read go; cat "$0" >/dev/null; echo read; exec sleep 60`, file)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	g.startCmd(cmd)
	in.Write([]byte("go\n"))
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "read" {
		t.Fatalf("reader: %q, %v", line, err)
	}
	var m MemoryStats
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := f.Read(g.path)
		if err != nil {
			t.Fatal(err)
		}
		m = got.Stats.Memory
		if m.File.OK && m.File.V >= size*9/10 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !m.Current.OK || !m.WorkingSet.OK || !m.File.OK {
		t.Fatalf("memory = %+v: want usage, working set and file known", m)
	}
	if m.File.V < size*9/10 {
		t.Errorf("file = %d, want about %d: the file read should be in the group's page cache", m.File.V, size)
	}
	gap := m.Current.V - m.WorkingSet.V
	if gap < size*8/10 || gap > size+8*mib {
		t.Errorf("usage %d - working set %d = %d, want about the file's %d", m.Current.V, m.WorkingSet.V, gap, size)
	}
	t.Logf("usage %d, working set %d, file %d", m.Current.V, m.WorkingSet.V, m.File.V)
}
