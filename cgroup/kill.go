package cgroup

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Kill kills every process in the group and its descendants and waits
// (up to a few seconds) until none is left. v2 writes cgroup.kill (also
// present in the v2 tree of a hybrid host); v1, where the group has a
// freezer directory (see neededV1), freezes the group so nothing can fork
// while it is killed, sends SIGKILL to each process, and thaws it.
func (m *Manager) Kill() error {
	// The usual caller kills a group whose processes have all exited (a
	// sandbox's teardown), so an empty group is worth spotting first. A group
	// with no process cannot gain one by itself (only a member forks into
	// it), so there is then nothing to freeze against forks either.
	if m.fs.Mode() == ModeUnified {
		// cgroup.events says whether any process is left in the subtree,
		// without listing every group's cgroup.procs.
		if dir, ok := m.Dir(""); ok {
			var buf bytes.Buffer
			if b, err := readFile(filepath.Join(dir, "cgroup.events"), &buf); err == nil && strings.Contains(string(b), "populated 0") {
				return nil
			}
		}
	} else {
		// v1 has no such file, and a hybrid host's v2 tree does not see a
		// process placed in the v1 hierarchies alone: list them all.
		procs, err := m.Procs()
		if err != nil {
			return err
		}
		if len(procs) == 0 {
			return nil
		}
	}
	if dir, ok := m.Dir(""); ok {
		if _, err := os.Stat(filepath.Join(dir, "cgroup.kill")); err == nil {
			if err := writeFile(dir, "cgroup.kill", "1"); err != nil {
				return fmt.Errorf("kill %s: %w", m.path, err)
			}
		}
	}
	frozen := ""
	if dir, ok := m.Dir("freezer"); ok {
		if err := writeFile(dir, "freezer.state", "FROZEN"); err == nil {
			frozen = dir
		}
	}
	var procs []int
	for range 200 {
		var err error
		procs, err = m.Procs()
		if err != nil {
			return err
		}
		if len(procs) == 0 {
			break
		}
		for _, p := range procs {
			// ESRCH: it exited meanwhile; nothing else can fail for root.
			_ = unix.Kill(p, unix.SIGKILL)
		}
		if frozen != "" {
			// SIGKILL is delivered to frozen tasks only once they thaw.
			_ = writeFile(frozen, "freezer.state", "THAWED")
			frozen = ""
		}
		time.Sleep(10 * time.Millisecond)
	}
	if frozen != "" {
		_ = writeFile(frozen, "freezer.state", "THAWED")
	}
	if len(procs) > 0 {
		return fmt.Errorf("kill %s: %d processes remain (%v)", m.path, len(procs), procs)
	}
	return nil
}
