package nsinfo

import "errors"

// Sentinel errors, compared with errors.Is. Every returned error wraps one of
// them together with the file or value it concerns.
var (
	// ErrNoProcess means the process does not exist (it may have exited).
	ErrNoProcess = errors.New("no such process")
	// ErrParse means a kernel file did not have the expected format.
	ErrParse = errors.New("unexpected format")
	// ErrUnknownType means a namespace type name is not one of Types().
	ErrUnknownType = errors.New("unknown namespace type")
	// ErrNoReference means no process had readable namespaces to serve as
	// the host's reference set.
	ErrNoReference = errors.New("no process with readable namespaces")
)

// ErrRefused means ctop will not signal the process: pid 1 or a kernel
// thread.
var ErrRefused = errors.New("refused")
