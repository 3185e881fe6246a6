package cgroup

import "time"

// Usage is what docker stats shows of a group between two readings: the
// rates of NewRates reduced to one number each, with the limits they are
// measured against.
type Usage struct {
	// CPU is CPU time used as percent of one core (200 = two cores busy).
	CPU F64 `json:"cpu_percent"`
	// Memory is the working set, as docker stats and the kubelet count
	// memory in use (page cache the kernel drops first left out).
	Memory U64 `json:"memory_usage"`
	// MemoryLimit is the group's own memory limit, else the tightest
	// above it.
	MemoryLimit Limit `json:"memory_limit"`
	// MemoryPercent is Memory as percent of a finite MemoryLimit.
	MemoryPercent F64 `json:"memory_percent"`
	// ReadBps and WriteBps are bytes per second over all devices.
	ReadBps  F64 `json:"io_read_bps"`
	WriteBps F64 `json:"io_write_bps"`
	Pids     U64 `json:"pids"`
	// PidsLimit is the group's own pids.max, else the tightest above it.
	PidsLimit Limit `json:"pids_limit"`
	// Throttled is the percent of CFS periods in which the group was
	// throttled; 0 with no quota (no period ran).
	Throttled F64 `json:"throttled_percent"`
}

// NewUsage derives a group's usage from two readings dt apart. prev may
// be nil (one reading): then only memory and pids are known.
func NewUsage(prev, cur *Group, dt time.Duration) Usage {
	var u Usage
	if cur == nil {
		return u
	}
	r := NewRates(prev, cur, dt)
	u.CPU = r.CPU
	if r.ThrottledFraction.OK {
		u.Throttled = F64{V: 100 * r.ThrottledFraction.V, OK: true}
	}
	u.Memory = cur.Stats.Memory.WorkingSet
	u.MemoryLimit = cur.Limits.Memory.Max
	if !u.MemoryLimit.Finite() && cur.Effective.Memory.OK {
		u.MemoryLimit = cur.Effective.Memory
	}
	if u.Memory.OK && u.MemoryLimit.Finite() && u.MemoryLimit.V > 0 {
		u.MemoryPercent = F64{V: 100 * float64(u.Memory.V) / float64(u.MemoryLimit.V), OK: true}
	}
	u.Pids = cur.Stats.Pids.Current
	u.PidsLimit = cur.Limits.Pids
	if !u.PidsLimit.Finite() && cur.Effective.Pids.OK {
		u.PidsLimit = cur.Effective.Pids
	}
	// A group with IO accounting and no device listed did no IO: 0, not
	// unknown.
	if prev != nil && dt > 0 && prev.Stats.IO != nil && cur.Stats.IO != nil {
		u.ReadBps, u.WriteBps = F64{OK: true}, F64{OK: true}
		for _, x := range r.IO {
			u.ReadBps.V += x.ReadBps
			u.WriteBps.V += x.WriteBps
		}
	}
	return u
}
