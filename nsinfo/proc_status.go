package nsinfo

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// status holds what nsinfo needs from /proc/PID/status (proc_pid_status(5)).
type status struct {
	uid, gid int   // effective ids, as ps(1) shows them
	nspid    []int // the pid in each nested pid namespace, outermost first
	seccomp  Seccomp
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
		case bytes.HasPrefix(line, []byte("Seccomp:")):
			v, err := atoi(bytes.TrimSpace(line[8:]))
			if err != nil || v > int(SeccompFilter) {
				return status{}, fmt.Errorf("%w: %q", ErrParse, line)
			}
			s.seccomp.Mode, s.seccomp.Known = SeccompMode(v), true
		case bytes.HasPrefix(line, []byte("Seccomp_filters:")):
			v, err := atoi(bytes.TrimSpace(line[16:]))
			if err != nil {
				return status{}, fmt.Errorf("%w: %q", ErrParse, line)
			}
			s.seccomp.Filters = v
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

// SeccompMode is a process's seccomp mode (seccomp(2), proc_pid_status(5)).
type SeccompMode uint8

// The modes, as /proc/PID/status numbers them.
const (
	SeccompDisabled SeccompMode = iota // no filter
	SeccompStrict                      // read, write, _exit and sigreturn only
	SeccompFilter                      // BPF filters decide
)

func (m SeccompMode) String() string {
	switch m {
	case SeccompDisabled:
		return "disabled"
	case SeccompStrict:
		return "strict"
	}
	return "filter"
}

// MarshalText writes the mode by name.
func (m SeccompMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Seccomp is what /proc/PID/status says of a process's seccomp state: the
// mode ("Seccomp:", absent on a kernel without CONFIG_SECCOMP or when
// status was not read: Known false) and how many filters apply
// ("Seccomp_filters:", Linux 5.9; 0 where the kernel does not say).
type Seccomp struct {
	Mode    SeccompMode
	Filters int
	Known   bool
}

// MarshalJSON writes the mode by name and the filter count, both null
// where the state is not known (docs/json.md).
func (s Seccomp) MarshalJSON() ([]byte, error) {
	var v struct {
		Mode    *SeccompMode `json:"mode"`
		Filters *int         `json:"filters"`
	}
	if s.Known {
		v.Mode, v.Filters = &s.Mode, &s.Filters
	}
	return json.Marshal(v)
}

func (s Seccomp) String() string {
	switch {
	case !s.Known:
		return "?"
	case s.Mode == SeccompFilter && s.Filters > 0:
		return fmt.Sprintf("filter (%d)", s.Filters)
	}
	return s.Mode.String()
}
