package main

import (
	"fmt"
	"strconv"

	"github.com/ctop-dev/ctop/cgroup"
)

// bytesIEC prints a byte count with a binary unit, as free -h does.
func bytesIEC(v uint64) string {
	const unit = 1024
	if v < unit {
		return strconv.FormatUint(v, 10) + "B"
	}
	div, exp := uint64(unit), 0
	for n := v / unit; n >= unit && exp < 5; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%c", float64(v)/float64(div), "KMGTPE"[exp])
}

func u64Bytes(u cgroup.U64) string {
	if !u.OK {
		return "-"
	}
	return bytesIEC(u.V)
}

func limitBytes(l cgroup.Limit) string {
	switch {
	case !l.OK:
		return "-"
	case l.Unlimited:
		return "max"
	}
	return bytesIEC(l.V)
}

func limitNum(l cgroup.Limit) string {
	if !l.OK {
		return "-"
	}
	return l.String()
}

func pct(f cgroup.F64) string {
	if !f.OK {
		return "-"
	}
	return strconv.FormatFloat(f.V, 'f', 1, 64)
}

// rateIEC prints bytes per second.
func rateIEC(v float64) string {
	if v < 1 {
		return "0"
	}
	return bytesIEC(uint64(v)) + "/s"
}

func cores(c float64) string {
	if c == 0 {
		return "max"
	}
	return strconv.FormatFloat(c, 'f', 2, 64)
}
