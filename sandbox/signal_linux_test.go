package sandbox

import (
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// Signal reaches the sandbox's first process while it is the one the
// state names, and refuses when it is not running. The process is a
// sleep of the test's own. SIGKILL: other tests of the package ignore
// SIGTERM, and the sleep would inherit that.
func TestSignal(t *testing.T) {
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pid := cmd.Process.Pid
	start, ok := procStart(pid)
	if !ok {
		t.Fatal("no start time of the sleep")
	}
	dir := t.TempDir()
	write := func(name string, start uint64) {
		st := State{Name: name, Pid: pid, PidStart: start, Command: []string{"sleep", "1000"}}
		path, _ := statePaths(dir, name)
		if err := st.create(path); err != nil {
			t.Fatal(err)
		}
		st.file.Close()
	}
	write("reused", start+1) // the pid is another process's now
	write("live", start)
	if err := Signal(dir, "reused", syscall.SIGTERM); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("a reused pid: %v, want not running", err)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the sleep was signalled through a stale state: %v", err)
	}
	if err := Signal(dir, "live", syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("sleep ended with %v, want SIGKILL", err)
	}
	if err := Signal(dir, "nosuch", syscall.SIGTERM); !errors.Is(err, ErrNotFound) {
		t.Errorf("no such sandbox: %v, want ErrNotFound", err)
	}
}
