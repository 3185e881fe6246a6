package nsinfo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Signal sends sig to process pid, as kill(1) does, when it is still the
// process that started at start (stat field 22; 0: any), so a pid reused
// since it was listed is left alone. It refuses pid 1, the init of the proc
// mount's pid namespace, whose end is the end of the machine or container,
// and kernel threads (PF_KTHREAD), which user space does not signal.
func (fsys FS) Signal(pid int, start uint64, sig syscall.Signal) error {
	name := unix.SignalName(sig)
	if pid == 1 {
		return fmt.Errorf("signal %s to pid 1: %w: it is init", name, ErrRefused)
	}
	path := filepath.Join(fsys.proc, strconv.Itoa(pid), "stat")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %s to pid %d: %w", name, pid, ErrNoProcess)
	}
	if err != nil {
		return fmt.Errorf("signal %s to pid %d: %w", name, pid, err)
	}
	st, err := parseStatSample(b)
	if err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	switch {
	case start != 0 && st.start != start:
		return fmt.Errorf("signal %s to pid %d: %w (it exited, and the pid is another process's now)", name, pid, ErrNoProcess)
	case st.kthread:
		return fmt.Errorf("signal %s to pid %d: %w: it is a kernel thread", name, pid, ErrRefused)
	}
	if err := unix.Kill(pid, sig); err != nil {
		if errors.Is(err, unix.ESRCH) {
			err = ErrNoProcess
		}
		return fmt.Errorf("signal %s to pid %d: %w", name, pid, err)
	}
	return nil
}
