package sandbox

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// Signal sends sig to the first process of sandbox name, as kill(1) would:
// its init inside its pid namespace, which decides what its children get.
// The state's start time guards against a pid reused since the sandbox
// ended.
func Signal(stateDir, name string, sig syscall.Signal) error {
	st, err := Load(stateDir, name)
	if err != nil {
		return err
	}
	sn := unix.SignalName(sig)
	if st.Pid <= 1 || !st.Running() {
		return fmt.Errorf("signal %s to sandbox %s: it is not running", sn, name)
	}
	if err := unix.Kill(st.Pid, sig); err != nil {
		return fmt.Errorf("signal %s to sandbox %s (pid %d): %w", sn, name, st.Pid, err)
	}
	return nil
}
