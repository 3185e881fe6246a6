package systemd

import "errors"

// ErrUnavailable means no systemd manager can be reached: systemd is not
// PID 1, or the manager's socket does not answer.
var ErrUnavailable = errors.New("systemd is not available")

// ErrNoUnit means the manager has no unit of that name loaded (a group
// named like a unit that systemd did not make).
var ErrNoUnit = errors.New("no such unit")

// ErrUnitExists means a unit of the name asked for is loaded already, and
// is not one ctop may take for its own.
var ErrUnitExists = errors.New("a unit of that name is loaded already")
