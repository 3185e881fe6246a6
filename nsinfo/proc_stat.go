package nsinfo

import (
	"bytes"
	"fmt"
	"strconv"
)

// stat holds what nsinfo needs from /proc/PID/stat (proc_pid_stat(5)).
type stat struct {
	comm      string
	ppid      int
	startTime uint64
}

// parseStat parses the text of /proc/PID/stat. The command name (field 2)
// is in parentheses and may itself hold spaces and parentheses, so fields
// are counted from the last ')'. Field 4 is the parent pid and field 22 the
// start time in clock ticks after boot; with the pid, the start time tells
// one process instance from a later one that reuses its pid.
func parseStat(b []byte) (stat, error) {
	l := bytes.IndexByte(b, '(')
	r := bytes.LastIndexByte(b, ')')
	if l < 0 || r < l {
		return stat{}, fmt.Errorf("%w: no (comm) in %q", ErrParse, b)
	}
	s := stat{comm: string(b[l+1 : r])}
	// Fields after ')' start at field 3 (state).
	rest := b[r+1:]
	field := 2
	for len(rest) > 0 && field < 22 {
		rest = bytes.TrimLeft(rest, " ")
		end := bytes.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		tok := rest[:end]
		rest = rest[end:]
		field++
		switch field {
		case 4:
			v, err := strconv.Atoi(string(tok))
			if err != nil {
				return stat{}, fmt.Errorf("%w: ppid %q in %q", ErrParse, tok, b)
			}
			s.ppid = v
		case 22:
			v, err := strconv.ParseUint(string(bytes.TrimSpace(tok)), 10, 64)
			if err != nil {
				return stat{}, fmt.Errorf("%w: start time %q in %q", ErrParse, tok, b)
			}
			s.startTime = v
			return s, nil
		}
	}
	return stat{}, fmt.Errorf("%w: fewer than 22 fields in %q", ErrParse, b)
}
