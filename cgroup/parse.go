package cgroup

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Parsers are pure functions over a file's bytes; name is the file's name,
// used in errors. Each one's doc names the kernel file and cites
// Documentation/admin-guide/cgroup-v2.rst or cgroup-v1/*.rst.

// v1Unlimited is what v1 reports for "no limit": PAGE_COUNTER_MAX pages in
// bytes (0x7FFFFFFFFFFFF000 on 64-bit with 4 KiB pages). Any value at or
// above it means unlimited, whatever the page size.
const v1Unlimited = 0x7FFFFFFFFFFFF000 - 0xFFFF

func parseErr(name string, b []byte, why string) error {
	return fmt.Errorf("%w %s: %s in %q", ErrParse, name, why, strings.TrimSpace(string(b)))
}

// parseUint parses a file holding one unsigned number.
func parseUint(name string, b []byte) (uint64, error) {
	v, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0, parseErr(name, b, "not a number")
	}
	return v, nil
}

// parseLimit parses a limit file: v2 "max" or a number; v1 -1 or a number
// at the page-counter maximum mean unlimited.
func parseLimit(name string, b []byte) (Limit, error) {
	s := string(bytes.TrimSpace(b))
	if s == "max" || s == "-1" {
		return Max, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return Limit{}, parseErr(name, b, "not a limit")
	}
	if v >= v1Unlimited {
		return Max, nil
	}
	return LimitOf(v), nil
}

// parseCPUMax parses v2 cpu.max: "$MAX $PERIOD", MAX "max" or microseconds.
func parseCPUMax(name string, b []byte) (Limit, U64, error) {
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return Limit{}, U64{}, parseErr(name, b, "want quota and period")
	}
	q, err := parseLimit(name, []byte(f[0]))
	if err != nil {
		return Limit{}, U64{}, err
	}
	p, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return Limit{}, U64{}, parseErr(name, b, "period not a number")
	}
	return q, Known(p), nil
}

// parseFlat parses a flat keyed file ("key value" per line: cpu.stat,
// memory.events, pids.events, memory.oom_control, cpuacct.stat), calling fn
// for each key. Lines whose value is not a number are an error.
func parseFlat(name string, b []byte, fn func(key string, v uint64)) error {
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		k, v, ok := bytes.Cut(line, []byte{' '})
		if !ok {
			return parseErr(name, line, "want key and value")
		}
		n, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
		if err != nil {
			return parseErr(name, line, "value not a number")
		}
		fn(string(k), n)
	}
	return nil
}

// parseDevice parses "MAJ:MIN".
func parseDevice(s string) (Device, bool) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return Device{}, false
	}
	ma, err1 := strconv.ParseUint(a, 10, 32)
	mi, err2 := strconv.ParseUint(b, 10, 32)
	if err1 != nil || err2 != nil {
		return Device{}, false
	}
	return Device{Major: uint32(ma), Minor: uint32(mi)}, true
}

// deviceKeys parses the lines "MAJ:MIN key=value key=value ..." of a v2 io
// file (io.max, io.stat): line is called with each line's device and
// returns the function that takes the line's pairs.
func deviceKeys(name string, b []byte, line func(d Device) func(k, v string) error) error {
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		d, ok := parseDevice(f[0])
		if !ok {
			return parseErr(name, []byte(l), "bad device")
		}
		pair := line(d)
		for _, p := range f[1:] {
			k, v, _ := strings.Cut(p, "=")
			if err := pair(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// parseIOMax parses v2 io.max: "MAJ:MIN rbps=N wbps=N riops=N wiops=N",
// each value a number or "max".
func parseIOMax(name string, b []byte) ([]IOLimit, error) {
	var out []IOLimit
	err := deviceKeys(name, b, func(d Device) func(k, v string) error {
		out = append(out, IOLimit{Device: d, ReadBps: Max, WriteBps: Max, ReadIOps: Max, WriteIOps: Max})
		l := &out[len(out)-1]
		return func(k, v string) error {
			var dst *Limit
			switch k {
			case "rbps":
				dst = &l.ReadBps
			case "wbps":
				dst = &l.WriteBps
			case "riops":
				dst = &l.ReadIOps
			case "wiops":
				dst = &l.WriteIOps
			default:
				return nil
			}
			lim, err := parseLimit(name, []byte(v))
			*dst = lim
			return err
		}
	})
	return out, err
}

// parseIOStat parses v2 io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N
// ...". Controllers such as iocost and iolatency add keys of their own
// (cost.vrate=100.00, depth=max); only the four counters are read.
func parseIOStat(name string, b []byte) ([]IOStat, error) {
	var out []IOStat
	err := deviceKeys(name, b, func(d Device) func(k, v string) error {
		out = append(out, IOStat{Device: d})
		s := &out[len(out)-1]
		return func(k, v string) error {
			var dst *uint64
			switch k {
			case "rbytes":
				dst = &s.ReadBytes
			case "wbytes":
				dst = &s.WriteBytes
			case "rios":
				dst = &s.ReadOps
			case "wios":
				dst = &s.WriteOps
			default:
				return nil
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return parseErr(name, []byte(k+"="+v), "value of "+k+" not a number")
			}
			*dst = n
			return nil
		}
	})
	return out, err
}

// parseBlkioDevice parses a v1 blkio.throttle.*_device file: "MAJ:MIN N".
func parseBlkioDevice(name string, b []byte, fn func(Device, uint64)) error {
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		d, ok := parseDevice(f[0])
		if len(f) != 2 || !ok {
			return parseErr(name, []byte(line), "want device and value")
		}
		n, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return parseErr(name, []byte(line), "value not a number")
		}
		fn(d, n)
	}
	return nil
}

// parseBlkioStat parses v1 blkio.throttle.io_service_bytes or io_serviced:
// "MAJ:MIN Read N", "MAJ:MIN Write N", ... and a final "Total N".
func parseBlkioStat(name string, b []byte, fn func(d Device, read bool, v uint64)) error {
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue // "Total N" and empty files
		}
		d, ok := parseDevice(f[0])
		if !ok {
			return parseErr(name, []byte(line), "bad device")
		}
		n, err := strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			return parseErr(name, []byte(line), "value not a number")
		}
		switch f[1] {
		case "Read":
			fn(d, true, n)
		case "Write":
			fn(d, false, n)
		}
	}
	return nil
}

// parsePSI parses a pressure file (Documentation/accounting/psi.rst):
// "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and a "full" line.
func parsePSI(name string, b []byte) (PSI, error) {
	p := PSI{OK: true}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var l *PSILine
		switch f[0] {
		case "some":
			l = &p.Some
		case "full":
			l = &p.Full
		default:
			return PSI{}, parseErr(name, []byte(line), "want some or full")
		}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			var err error
			switch k {
			case "avg10":
				l.Avg10, err = strconv.ParseFloat(v, 64)
			case "avg60":
				l.Avg60, err = strconv.ParseFloat(v, 64)
			case "avg300":
				l.Avg300, err = strconv.ParseFloat(v, 64)
			case "total":
				l.Total, err = strconv.ParseUint(v, 10, 64)
			}
			if err != nil {
				return PSI{}, parseErr(name, []byte(line), k+" not a number")
			}
		}
	}
	return p, nil
}

// parseUsageAll sums v1 cpuacct.usage_all: a header "cpu user system" and a
// line "CPU USER SYSTEM" (nanoseconds) per CPU.
func parseUsageAll(name string, b []byte) (user, sys uint64, err error) {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "cpu ") {
		return 0, 0, parseErr(name, b, "want a cpu user system header")
	}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) != 3 {
			return 0, 0, parseErr(name, []byte(line), "want cpu, user and system")
		}
		u, err1 := strconv.ParseUint(f[1], 10, 64)
		s, err2 := strconv.ParseUint(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, 0, parseErr(name, []byte(line), "not a number")
		}
		user += u
		sys += s
	}
	return user, sys, nil
}

// CPUWeight is the v2 cpu.weight that ctop writes for v1 cpu.shares
// (runc's conversion), for a caller that tells another manager the
// weight ctop would write itself.
func CPUWeight(shares uint64) uint64 { return sharesToWeight(shares) }

// sharesToWeight converts v1 cpu.shares (2..262144) to a v2 weight
// (1..10000) the way runc does since 1.3 (opencontainers/cgroups): a
// quadratic in log2(shares) that maps the minimum, the default and the
// maximum onto each other (2 -> 1, 1024 -> 100, 262144 -> 10000), so a
// default v1 group shows the default v2 weight. (The older linear formula
// gave 39 for the default.)
func sharesToWeight(shares uint64) uint64 {
	switch {
	case shares <= 2:
		return 1
	case shares >= 262144:
		return 10000
	}
	l := math.Log2(float64(shares))
	exp := (l*l+125*l)/612.0 - 7.0/34.0
	// Round first: 10^2.0 computed in floating point may land a hair above
	// 100 and must not ceil to 101.
	v := math.Pow(10, exp)
	if r := math.Round(v); math.Abs(v-r) < 1e-9 {
		return uint64(r)
	}
	return uint64(math.Ceil(v))
}
