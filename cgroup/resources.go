package cgroup

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// CPUMax is a CPU bandwidth limit: Quota microseconds of CPU time per
// Period microseconds (v2 cpu.max, v1 cpu.cfs_quota_us and cpu.cfs_period_us).
// An unlimited Quota removes the limit. A zero Period keeps the current one,
// as does a Quota that is not OK (the zero Limit: a change of period alone,
// docker's --cpu-period).
type CPUMax struct {
	Quota  Limit
	Period uint64
}

// IOThrottle is one device's throttle for one direction and unit. Rate 0
// removes the throttle (v2 writes "max", v1 writes 0).
type IOThrottle struct {
	Device Device
	// Kind is "rbps", "wbps", "riops" or "wiops" (the v2 io.max keys).
	Kind string
	Rate uint64
}

// Resources are the limits to write to a group. A nil field (or empty
// slice) is left as it is; anything else is written. Unlimited is written as
// "max" on v2 and as -1 on v1.
type Resources struct {
	CPU *CPUMax
	// CPUShares is v1 cpu.shares (2..262144); on v2 it is converted to
	// cpu.weight as runc converts it.
	CPUShares  *uint64
	CpusetCpus *string
	CpusetMems *string
	// MemoryMax is v2 memory.max, v1 memory.limit_in_bytes.
	MemoryMax *Limit
	// MemoryLow is a soft reservation: v2 memory.low, v1
	// memory.soft_limit_in_bytes.
	MemoryLow *Limit
	// MemorySwap is memory plus swap, docker's --memory-swap: v1
	// memory.memsw.limit_in_bytes; on v2 memory.swap.max is written as
	// MemorySwap - MemoryMax, so MemoryMax must be set with it.
	MemorySwap *Limit
	PidsMax    *Limit
	IO         []IOThrottle
	// Devices are the group's device access rules, in order (see
	// DeviceRule). They are written once, by Create, as the group is
	// made and before any process is in it: on v2 a second program would
	// only add to the first, so Update refuses them. nil: no rules (the
	// parent's apply).
	Devices []DeviceRule
}

// Empty reports whether r changes nothing.
func (r Resources) Empty() bool {
	return r.CPU == nil && r.CPUShares == nil && r.CpusetCpus == nil && r.CpusetMems == nil &&
		r.MemoryMax == nil && r.MemoryLow == nil && r.MemorySwap == nil && r.PidsMax == nil && len(r.IO) == 0 &&
		r.Devices == nil
}

// Validate checks r without touching the kernel; its messages name the
// value and the rule.
func (r Resources) Validate() error {
	if r.CPU != nil {
		if r.CPU.Period != 0 && (r.CPU.Period < 1000 || r.CPU.Period > 1000000) {
			return fmt.Errorf("cpu period %dus out of range: want 1000..1000000", r.CPU.Period)
		}
		if r.CPU.Quota.Finite() && r.CPU.Quota.V < 1000 {
			return fmt.Errorf("cpu quota %dus too small: the kernel needs at least 1000us per period", r.CPU.Quota.V)
		}
	}
	if r.CPUShares != nil && (*r.CPUShares < 2 || *r.CPUShares > 262144) {
		return fmt.Errorf("cpu shares %d out of range: want 2..262144", *r.CPUShares)
	}
	for _, s := range []*string{r.CpusetCpus, r.CpusetMems} {
		if s != nil {
			if _, err := ParseCPUList(*s); err != nil {
				return err
			}
		}
	}
	if r.MemorySwap != nil && r.MemoryMax != nil && r.MemorySwap.Finite() && r.MemoryMax.Finite() && r.MemorySwap.V < r.MemoryMax.V {
		return fmt.Errorf("memory+swap limit %d is below the memory limit %d: --memory-swap counts memory plus swap", r.MemorySwap.V, r.MemoryMax.V)
	}
	for _, d := range r.Devices {
		if err := d.Validate(); err != nil {
			return err
		}
	}
	for _, t := range r.IO {
		switch t.Kind {
		case "rbps", "wbps", "riops", "wiops":
		default:
			return fmt.Errorf("io throttle kind %q: want rbps, wbps, riops or wiops", t.Kind)
		}
	}
	return nil
}

// ParseCPUList parses a cpuset list such as "0-3,5" (cpuset(7)) into the
// sorted CPU or node numbers.
func ParseCPUList(s string) ([]int, error) {
	var out []int
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty cpu list: want a list like 0-3,5")
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("cpu list %q: bad number %q: want a list like 0-3,5", s, lo)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
				return nil, fmt.Errorf("cpu list %q: bad range %q: want a list like 0-3,5", s, part)
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, int(i))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
