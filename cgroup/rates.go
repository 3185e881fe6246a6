package cgroup

import (
	"encoding/json"
	"strconv"
	"time"
)

// F64 is a derived rate that may be unavailable (no earlier sample, counter
// missing or reset, no limit to compare against).
type F64 struct {
	V  float64
	OK bool
}

// MarshalJSON writes null when unavailable, else the value rounded to 3 decimals.
func (f F64) MarshalJSON() ([]byte, error) {
	if !f.OK {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f.V, 'f', 3, 64), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (f *F64) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = F64{}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = F64{V: v, OK: true}
	return nil
}

// IORate is one device's IO per second.
type IORate struct {
	Device
	ReadBps   float64 `json:"rbps"`
	WriteBps  float64 `json:"wbps"`
	ReadIOps  float64 `json:"riops"`
	WriteIOps float64 `json:"wiops"`
}

// Rates are a group's usage between two snapshots.
type Rates struct {
	// CPU is CPU time used as percent of one core (200 = two cores busy).
	CPU F64 `json:"cpu_percent"`
	// CPUOfQuota is CPU as percent of the group's quota (its own, or the
	// tightest above it when it has none).
	CPUOfQuota F64 `json:"cpu_quota_percent"`
	// ThrottledPerSec is how many CFS periods per second were throttled.
	ThrottledPerSec F64 `json:"throttled_per_sec"`
	// ThrottledFraction is throttled periods / periods that ran, 0..1.
	ThrottledFraction F64 `json:"throttled_fraction"`
	// ThrottledTime is the throttled time per second, 0..N (in CPUs).
	ThrottledTime F64 `json:"throttled_time_per_sec"`
	// Memory is current memory as percent of memory.max (own or effective).
	Memory F64      `json:"memory_percent"`
	IO     []IORate `json:"io"`
}

// delta returns cur-prev when both are known and the counter did not reset.
func delta(prev, cur U64) (float64, bool) {
	if !prev.OK || !cur.OK || cur.V < prev.V {
		return 0, false
	}
	return float64(cur.V - prev.V), true
}

// NewRates derives rates from two readings of the same group dt apart.
// prev may be nil (first sample): then only Memory is known.
func NewRates(prev, cur *Group, dt time.Duration) Rates {
	var r Rates
	if cur == nil {
		return r
	}
	if m := cur.Stats.Memory.Current; m.OK {
		lim := cur.Limits.Memory.Max
		if !lim.Finite() {
			lim = cur.Effective.Memory
		}
		if lim.Finite() && lim.V > 0 {
			r.Memory = F64{V: 100 * float64(m.V) / float64(lim.V), OK: true}
		}
	}
	if prev == nil || dt <= 0 {
		return r
	}
	sec := dt.Seconds()
	if d, ok := delta(prev.Stats.CPU.Usage, cur.Stats.CPU.Usage); ok {
		r.CPU = F64{V: 100 * d / 1e6 / sec, OK: true}
		cores := cur.Limits.CPU.Cores()
		if cores == 0 {
			cores = cur.Effective.Cores
		}
		if cores > 0 {
			r.CPUOfQuota = F64{V: r.CPU.V / cores, OK: true}
		}
	}
	if d, ok := delta(prev.Stats.CPU.Throttled, cur.Stats.CPU.Throttled); ok {
		r.ThrottledPerSec = F64{V: d / sec, OK: true}
		if p, ok := delta(prev.Stats.CPU.Periods, cur.Stats.CPU.Periods); ok {
			if p > 0 {
				r.ThrottledFraction = F64{V: d / p, OK: true}
			} else {
				r.ThrottledFraction = F64{V: 0, OK: true}
			}
		}
	}
	if d, ok := delta(prev.Stats.CPU.ThrottledTime, cur.Stats.CPU.ThrottledTime); ok {
		r.ThrottledTime = F64{V: d / 1e6 / sec, OK: true}
	}
	old := map[Device]IOStat{}
	for _, s := range prev.Stats.IO {
		old[s.Device] = s
	}
	for _, s := range cur.Stats.IO {
		o, ok := old[s.Device]
		if !ok || s.ReadBytes < o.ReadBytes || s.WriteBytes < o.WriteBytes || s.ReadOps < o.ReadOps || s.WriteOps < o.WriteOps {
			continue // new device, or counters reset
		}
		r.IO = append(r.IO, IORate{
			Device:    s.Device,
			ReadBps:   float64(s.ReadBytes-o.ReadBytes) / sec,
			WriteBps:  float64(s.WriteBytes-o.WriteBytes) / sec,
			ReadIOps:  float64(s.ReadOps-o.ReadOps) / sec,
			WriteIOps: float64(s.WriteOps-o.WriteOps) / sec,
		})
	}
	return r
}

// SnapshotRates derives the rates of every group of cur against prev
// (matched by path), keyed by path.
func SnapshotRates(prev, cur *Snapshot) map[string]Rates {
	out := make(map[string]Rates, len(cur.Groups))
	var old map[string]*Group
	var dt time.Duration
	if prev != nil {
		old = make(map[string]*Group, len(prev.Groups))
		for _, g := range prev.Groups {
			old[g.Path] = g
		}
		dt = cur.Time.Sub(prev.Time)
	}
	for _, g := range cur.Groups {
		out[g.Path] = NewRates(old[g.Path], g, dt)
	}
	return out
}
