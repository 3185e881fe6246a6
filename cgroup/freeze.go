package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrNoFreezer means the group can be frozen in no hierarchy: neither a v2
// directory with cgroup.freeze (Linux 5.2) nor a v1 freezer directory.
var ErrNoFreezer = errors.New("no freezer for the group")

// freezeWait bounds the wait for a freeze to take effect: the kernel
// stops each task at its next return to user space, which takes a moment
// for one in a long system call.
const freezeWait = 5 * time.Second

// freezer is where the group is frozen: v2 cgroup.freeze when there is one
// (also a hybrid host's v2 tree, where Create leaves the v1 freezer out),
// else the v1 freezer hierarchy.
func (m *Manager) freezer() (dir string, v2 bool, err error) {
	if d, ok := m.Dir(""); ok {
		if _, err := os.Stat(filepath.Join(d, "cgroup.freeze")); err == nil {
			return d, true, nil
		}
	}
	if d, ok := m.Dir("freezer"); ok {
		return d, false, nil
	}
	return "", false, fmt.Errorf("freeze %s: %w", m.path, ErrNoFreezer)
}

// Freeze stops every process of the group and its descendants and waits
// until the kernel reports the group frozen (v2: cgroup.events "frozen 1";
// v1: freezer.state FROZEN rather than FREEZING). Frozen processes use no
// CPU and do not run their signal handlers until thawed (cgroup-v2.rst,
// "Core Interface Files"; cgroup-v1/freezer-subsystem.rst).
func (m *Manager) Freeze() error { return m.setFrozen(true) }

// Thaw lets the group's processes run again and waits until the kernel
// reports the group thawed.
func (m *Manager) Thaw() error { return m.setFrozen(false) }

func (m *Manager) setFrozen(frozen bool) error {
	dir, v2, err := m.freezer()
	if err != nil {
		return err
	}
	op, file, value := "thaw", "freezer.state", "THAWED"
	if frozen {
		op, value = "freeze", "FROZEN"
	}
	if v2 {
		file, value = "cgroup.freeze", "0"
		if frozen {
			value = "1"
		}
	}
	if err := writeFile(dir, file, value); err != nil {
		return err
	}
	deadline := time.Now().Add(freezeWait)
	for {
		got, err := m.frozenIn(dir, v2)
		if err != nil {
			return err
		}
		if got == frozen {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s %s: the kernel has not reported it done after %s", op, m.path, freezeWait)
		}
		time.Sleep(time.Millisecond)
	}
}

// Frozen reports whether the group is frozen now (a group that is being
// frozen is not yet; v1's FREEZING is not FROZEN).
func (m *Manager) Frozen() (bool, error) {
	dir, v2, err := m.freezer()
	if err != nil {
		return false, err
	}
	return m.frozenIn(dir, v2)
}

func (m *Manager) frozenIn(dir string, v2 bool) (bool, error) {
	var buf bytes.Buffer
	if v2 {
		b, err := readFile(filepath.Join(dir, "cgroup.events"), &buf)
		if err != nil {
			return false, fmt.Errorf("read cgroup.events of %s: %w", m.path, err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, " "); ok && k == "frozen" {
				return v == "1", nil
			}
		}
		return false, fmt.Errorf("read cgroup.events of %s: no frozen field", m.path)
	}
	b, err := readFile(filepath.Join(dir, "freezer.state"), &buf)
	if err != nil {
		return false, fmt.Errorf("read freezer.state of %s: %w", m.path, err)
	}
	return strings.TrimSpace(string(b)) == "FROZEN", nil
}
