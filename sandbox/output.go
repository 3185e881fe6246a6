package sandbox

import (
	"fmt"
	"io"
	"os"
)

// Output returns the last max bytes (all of it when max <= 0) of a
// detached sandbox's output log (State.Log); empty when the command has
// written nothing yet. A sandbox that was not started detached keeps no
// log, and that is an error.
func (s *State) Output(max int64) ([]byte, error) {
	if s.Log == "" {
		return nil, fmt.Errorf("sandbox %s keeps no output log (it was not started detached)", s.Name)
	}
	fh, err := os.Open(s.Log)
	if err != nil {
		return nil, fmt.Errorf("read output of sandbox %s: %w", s.Name, err)
	}
	defer fh.Close()
	if fi, err := fh.Stat(); err == nil && max > 0 && fi.Size() > max {
		_, _ = fh.Seek(-max, io.SeekEnd)
	}
	b, err := io.ReadAll(fh)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.Log, err)
	}
	return b, nil
}

// Hostname returns the hostname of the sandbox in stateDir whose cgroup
// is path, as its state records it: the hostname of another uts namespace
// cannot be read without entering it. A sandbox that set none has its
// name (see Spec.Hostname). ok is false when no sandbox has that cgroup.
func Hostname(stateDir, path string) (hostname string, ok bool) {
	states, err := List(stateDir)
	if err != nil {
		return "", false
	}
	for _, st := range states {
		if st.Cgroup == path {
			if st.Hostname == "" {
				return st.Name, true
			}
			return st.Hostname, true
		}
	}
	return "", false
}
