package nsinfo

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// sleeper starts a sleep of the test's own, the only process these tests
// signal, and reaps it in cleanup.
func sleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// Signal checks the start time first, refuses pid 1, and then signals.
func TestSignal(t *testing.T) {
	fs, err := Open("/")
	if err != nil {
		t.Skip(err)
	}
	cmd := sleeper(t)
	pid := cmd.Process.Pid
	p, err := fs.Process(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Signal(pid, p.StartTime+1, syscall.SIGTERM); !errors.Is(err, ErrNoProcess) || !alive(pid) {
		t.Errorf("another start time: %v, alive %v; want ErrNoProcess and the process untouched", err, alive(pid))
	}
	if err := fs.Signal(1, 0, syscall.SIGTERM); !errors.Is(err, ErrRefused) {
		t.Errorf("pid 1: %v, want ErrRefused", err)
	}
	if err := fs.Signal(pid, p.StartTime, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Errorf("sleep ended with %v, want SIGTERM", err)
	}
	if err := fs.Signal(pid, p.StartTime, syscall.SIGTERM); !errors.Is(err, ErrNoProcess) {
		t.Errorf("a process gone: %v, want ErrNoProcess", err)
	}
}

// A kernel thread is refused: a fixture tree gives the test's own sleep
// kthreadd's stat, so a wrong answer would only signal that sleep.
func TestSignalRefusesKernelThreads(t *testing.T) {
	cmd := sleeper(t)
	pid := cmd.Process.Pid
	root := t.TempDir()
	dir := filepath.Join(root, "proc", strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "hybrid", "proc", "2", "stat"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stat"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Signal(pid, 0, syscall.SIGTERM); !errors.Is(err, ErrRefused) || !alive(pid) {
		t.Errorf("kernel thread: %v, alive %v; want ErrRefused and no signal", err, alive(pid))
	}
}
