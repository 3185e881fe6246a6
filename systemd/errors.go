package systemd

import "errors"

// ErrUnavailable means no systemd manager can be reached: systemd is not
// PID 1, or the manager's socket does not answer.
var ErrUnavailable = errors.New("systemd is not available")
