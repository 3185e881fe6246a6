package cgroup

import "errors"

var (
	// ErrParse is wrapped by every failure to parse a kernel file; the
	// message names the file and the text.
	ErrParse = errors.New("cannot parse")
	// ErrNoCgroups means no cgroup filesystem is mounted under the root.
	ErrNoCgroups = errors.New("no cgroup filesystem mounted")
	// ErrNotFound means the group does not exist in any hierarchy.
	ErrNotFound = errors.New("no such cgroup")
)
