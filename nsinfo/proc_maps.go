package nsinfo

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// mapping is one line of /proc/PID/maps (proc_pid_maps(5)): an address
// range, its permissions and the file it maps, by device and inode.
type mapping struct {
	start, end uintptr
	perms      string
	dev        string // "major:minor" in hex, as maps writes it
	ino        uint64
}

// readOnlyFileMappings returns the mappings of the file (dev, ino) that
// are read-only, executable or not: a program's code and constant data,
// which the kernel can always read back from the file. dev is
// "major:minor" in hex.
func readOnlyFileMappings(r io.Reader, dev string, ino uint64) ([]mapping, error) {
	var out []mapping
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m, err := parseMapping(sc.Text())
		if err != nil {
			return nil, err
		}
		if m.dev == dev && m.ino == ino && len(m.perms) >= 2 && m.perms[0] == 'r' && m.perms[1] == '-' {
			out = append(out, m)
		}
	}
	return out, sc.Err()
}

// parseMapping parses "START-END PERMS OFFSET DEV INODE [PATH]".
func parseMapping(line string) (mapping, error) {
	f := strings.Fields(line)
	if len(f) < 5 {
		return mapping{}, fmt.Errorf("%w: maps line %q", ErrParse, line)
	}
	lo, hi, ok := strings.Cut(f[0], "-")
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	ino, err3 := strconv.ParseUint(f[4], 10, 64)
	if !ok || err1 != nil || err2 != nil || err3 != nil || end < start {
		return mapping{}, fmt.Errorf("%w: maps line %q", ErrParse, line)
	}
	return mapping{start: uintptr(start), end: uintptr(end), perms: f[1], dev: f[3], ino: ino}, nil
}
