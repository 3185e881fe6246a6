package main

import (
	"strings"

	"github.com/ctop-dev/ctop/nsinfo"
)

// The shapes every --json listing shares, as docs/json.md writes them
// down: a namespace, a command, and null for a value that is not set.

// namespaceJSON is a namespace: its type and its identity, the (device,
// inode) pair of its nsfs file (namespaces(7)).
type namespaceJSON struct {
	Type   nsinfo.Type `json:"type"`
	Inode  uint64      `json:"inode"`
	Device uint64      `json:"device"`
}

func nsJSON(t nsinfo.Type, id nsinfo.ID) namespaceJSON {
	return namespaceJSON{Type: t, Inode: id.Ino, Device: id.Dev}
}

// nsPtr is the namespace, or nil (null) when it could not be read.
func nsPtr(t nsinfo.Type, id nsinfo.ID) *namespaceJSON {
	if !id.Known() {
		return nil
	}
	n := nsJSON(t, id)
	return &n
}

// commandLine is a command as one line, for display: its arguments
// joined by spaces.
func commandLine(argv []string) string { return strings.Join(argv, " ") }

// orNull is s, or nil (null) when it is empty: an unset value.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
