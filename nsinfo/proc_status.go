package nsinfo

import (
	"bytes"
	"fmt"
)

// status holds what nsinfo needs from /proc/PID/status (proc_pid_status(5)).
type status struct {
	uid, gid int   // effective ids, as ps(1) shows them
	nspid    []int // the pid in each nested pid namespace, outermost first
}

// parseStatus parses the text of /proc/PID/status. "Uid:" and "Gid:" list
// the real, effective, saved and filesystem ids; "NSpid:" (Linux 4.1) lists
// the pid as seen from the proc mount's pid namespace down to the process's
// own, so its last entry is the pid inside the process's own namespace. On
// kernels without NSpid the process's pid is all we know, and nspid is nil.
func parseStatus(b []byte) (status, error) {
	s := status{uid: -1, gid: -1}
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		switch {
		case bytes.HasPrefix(line, []byte("Uid:")):
			v, err := secondField(line[4:])
			if err != nil {
				return status{}, fmt.Errorf("%w: %q", ErrParse, line)
			}
			s.uid = v
		case bytes.HasPrefix(line, []byte("Gid:")):
			v, err := secondField(line[4:])
			if err != nil {
				return status{}, fmt.Errorf("%w: %q", ErrParse, line)
			}
			s.gid = v
		case bytes.HasPrefix(line, []byte("NSpid:")):
			f := line[6:]
			for {
				f = bytes.TrimLeft(f, " \t")
				if len(f) == 0 {
					break
				}
				end := bytes.IndexAny(f, " \t")
				if end < 0 {
					end = len(f)
				}
				v, err := atoi(f[:end])
				if err != nil {
					return status{}, fmt.Errorf("%w: %q", ErrParse, line)
				}
				s.nspid = append(s.nspid, v)
				f = f[end:]
			}
		}
	}
	if s.uid < 0 || s.gid < 0 {
		return status{}, fmt.Errorf("%w: no Uid or Gid line", ErrParse)
	}
	return s, nil
}

// secondField returns the second tab-separated number of b, the
// effective id of a Uid or Gid line.
func secondField(b []byte) (int, error) {
	b = bytes.TrimLeft(b, "\t ")
	i := bytes.IndexByte(b, '\t')
	if i < 0 {
		return 0, ErrParse
	}
	b = b[i+1:]
	if j := bytes.IndexByte(b, '\t'); j >= 0 {
		b = b[:j]
	}
	return atoi(b)
}
