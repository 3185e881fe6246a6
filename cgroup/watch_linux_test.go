package cgroup

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestWatchFinal: a group whose manager removes it the moment it is empty
// (systemd, for a scope) still gives its last reading: the watch took it
// when the kernel said the group emptied.
func TestWatchFinal(t *testing.T) {
	f := requireRoot(t)
	if _, ok := f.Hierarchy("pids"); !ok {
		t.Skip("no pids controller")
	}
	path := fmt.Sprintf("/ctop-test-%d-watch/g", os.Getpid())
	pidsMax := LimitOf(3)
	m, err := Create(f, path, Resources{PidsMax: &pidsMax})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = m.Kill()
		_ = m.Delete()
		_, _ = RemoveIfEmpty(f, "/"+fmt.Sprintf("ctop-test-%d-watch", os.Getpid()))
	})
	if _, ok := m.Dir(""); !ok {
		t.Skip("no v2 group here to watch")
	}
	// Blocked until the watch runs; then forks past pids.max.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", "read x; for i in 1 2 3 4 5 6; do sleep 0.05 & done; wait")
	cmd.Stdin = r
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if err := m.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	watch, err := m.WatchFinal(false)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("go\n"))
	w.Close()
	_ = cmd.Wait()
	var last *Group
	for try := 0; try < 200; try++ {
		watch.mu.Lock()
		last = watch.last
		watch.mu.Unlock()
		if last != nil && last.Stats.Pids.MaxEvents.V > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// As systemd would: the group goes, and a reading now finds nothing.
	if err := m.Delete(); err != nil {
		t.Fatal(err)
	}
	if g, err := m.ReadFinal(false); g.EventsKnown() {
		t.Fatalf("ReadFinal of a removed group: %+v, %v", g.Stats.Pids, err)
	}
	last = watch.Stop()
	if last == nil || last.Stats.Pids.MaxEvents.V == 0 {
		t.Fatalf("watch's last reading %+v, want the refused forks", last)
	}
}
