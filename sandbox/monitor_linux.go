package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// startDetached starts a monitor, a re-executed ctop in its own session
// that starts the sandbox, waits for it and cleans up after it, so the
// sandbox outlives the caller. The sandbox's output goes to output.log in
// its state directory.
func startDetached(spec Spec, t0 time.Time) (*Sandbox, error) {
	parentEnd, childEnd, err := socketpair()
	if err != nil {
		return nil, startErr(ExitFailed, err)
	}
	defer parentEnd.Close()
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{"ctop-monitor", spec.Name},
		Env:         []string{envRole + "=" + roleMonitor, envSyncFD + "=3", envNoTermQuery},
		ExtraFiles:  []*os.File{childEnd},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	err = cmd.Start()
	childEnd.Close()
	if err != nil {
		return nil, startErr(ExitFailed, fmt.Errorf("start sandbox monitor: %w", err))
	}
	cfg := &initConfig{Spec: spec, Resources: &spec.Resources}
	cfg.Cwd, _ = os.Getwd()
	if err := send(parentEnd, message{Type: msgConfig, Config: cfg}); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, startErr(ExitFailed, err)
	}
	var m message
	if err := json.NewDecoder(parentEnd).Decode(&m); err != nil {
		_ = cmd.Wait()
		return nil, startErr(ExitFailed, fmt.Errorf("sandbox monitor: %w", err))
	}
	if m.Type != msgStarted {
		_ = cmd.Wait()
		return nil, &StartError{Code: m.Code, Err: errors.New(m.Error)}
	}
	return &Sandbox{Name: m.Name, Pid: m.Pid, Started: t0, StartLatency: time.Since(t0), spec: spec, monitor: cmd, cgroupPath: m.Cgroup}, nil
}

// waitDetached waits for the monitor, whose exit status is the sandbox's.
func (sb *Sandbox) waitDetached() (Result, error) {
	err := sb.monitor.Wait()
	r := Result{Wall: time.Since(sb.Started), Limits: sb.spec.Resources}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.ExitCode = ee.ExitCode()
		err = nil
	}
	return r, err
}

// monitorMain is the monitor of a detached sandbox; it returns the
// sandbox's exit code.
func monitorMain(sync *os.File) int {
	var m message
	if err := json.NewDecoder(sync).Decode(&m); err != nil || m.Config == nil {
		_ = send(sync, message{Type: msgError, Code: ExitFailed, Error: fmt.Sprintf("sandbox monitor: read config: %v", err)})
		return ExitFailed
	}
	cfg := m.Config
	if cfg.Cwd != "" {
		_ = os.Chdir(cfg.Cwd)
	}
	spec := cfg.Spec
	if cfg.Resources != nil {
		spec.Resources = *cfg.Resources
	}
	spec.Detach, spec.logToState = false, true
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE)
	sb, err := Start(spec)
	if err != nil {
		code := ExitFailed
		var se *StartError
		if errors.As(err, &se) {
			code = se.Code
		}
		_ = send(sync, message{Type: msgError, Code: code, Error: err.Error()})
		return code
	}
	_ = send(sync, message{Type: msgStarted, Pid: sb.Pid, Name: sb.Name, Cgroup: sb.Cgroup()})
	sync.Close()
	// The monitor's own streams are /dev/null (see startDetached).
	res, _ := sb.Wait()
	return res.ExitCode
}
