package cgroup

import (
	"encoding/json"
	"strconv"
	"time"
)

// Mode is the cgroup layout of a host, see cgroups(7).
type Mode int

const (
	// ModeUnavailable means no cgroup filesystem is mounted.
	ModeUnavailable Mode = iota
	// ModeLegacy is cgroup v1 only: one hierarchy per controller (or co-mounted set).
	ModeLegacy
	// ModeHybrid is v1 controller hierarchies plus a cgroup2 mount (usually
	// /sys/fs/cgroup/unified) that holds the controllers v1 does not claim.
	ModeHybrid
	// ModeUnified is pure cgroup v2: one tree for every controller.
	ModeUnified
)

func (m Mode) String() string {
	switch m {
	case ModeLegacy:
		return "v1"
	case ModeHybrid:
		return "hybrid"
	case ModeUnified:
		return "v2"
	}
	return "unavailable"
}

// MarshalJSON writes the mode as its name.
func (m Mode) MarshalJSON() ([]byte, error) { return json.Marshal(m.String()) }

// U64 is a reading that may be unavailable: OK is false when the kernel file
// does not exist (controller not enabled, older kernel) or the field is absent.
// "Unavailable" and "zero" are different states and stay different.
type U64 struct {
	V  uint64
	OK bool
}

// Known returns an available reading of v.
func Known(v uint64) U64 { return U64{V: v, OK: true} }

// MarshalJSON writes null when unavailable.
func (u U64) MarshalJSON() ([]byte, error) {
	if !u.OK {
		return []byte("null"), nil
	}
	return strconv.AppendUint(nil, u.V, 10), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (u *U64) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*u = U64{}
		return nil
	}
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return err
	}
	*u = Known(v)
	return nil
}

func (u U64) String() string {
	if !u.OK {
		return "n/a"
	}
	return strconv.FormatUint(u.V, 10)
}

// Limit is a kernel limit: unavailable (OK false), unlimited ("max" in v2,
// the page-counter maximum or -1 in v1), or a value. Unlimited is explicit,
// never encoded as 0 or -1.
type Limit struct {
	V         uint64
	Unlimited bool
	OK        bool
}

// Max is the unlimited limit.
var Max = Limit{Unlimited: true, OK: true}

// LimitOf returns a finite limit of v.
func LimitOf(v uint64) Limit { return Limit{V: v, OK: true} }

// Less reports whether l is tighter than o; an unavailable limit is never tighter.
func (l Limit) Less(o Limit) bool {
	switch {
	case !l.OK || l.Unlimited:
		return false
	case !o.OK || o.Unlimited:
		return true
	}
	return l.V < o.V
}

// Finite reports whether l is a known, finite value.
func (l Limit) Finite() bool { return l.OK && !l.Unlimited }

// MarshalJSON writes null, "max" or the number.
func (l Limit) MarshalJSON() ([]byte, error) {
	switch {
	case !l.OK:
		return []byte("null"), nil
	case l.Unlimited:
		return []byte(`"max"`), nil
	}
	return strconv.AppendUint(nil, l.V, 10), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (l *Limit) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "null":
		*l = Limit{}
		return nil
	case `"max"`:
		*l = Max
		return nil
	}
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return err
	}
	*l = LimitOf(v)
	return nil
}

func (l Limit) String() string {
	switch {
	case !l.OK:
		return "n/a"
	case l.Unlimited:
		return "max"
	}
	return strconv.FormatUint(l.V, 10)
}

// Hierarchy is one mounted cgroup hierarchy.
type Hierarchy struct {
	// Version is 1 or 2.
	Version int `json:"version"`
	// Mountpoint is where the host mounts it, e.g. /sys/fs/cgroup/memory.
	Mountpoint string `json:"mountpoint"`
	// Controllers on this hierarchy: "cpu", "cpuacct" for a co-mounted v1
	// hierarchy, "name=systemd" for a named one; for v2 the controllers
	// listed in the root's cgroup.controllers.
	Controllers []string `json:"controllers"`
}

// Device is a block device as major:minor.
type Device struct {
	Major uint32 `json:"major"`
	Minor uint32 `json:"minor"`
}

func (d Device) String() string {
	return strconv.FormatUint(uint64(d.Major), 10) + ":" + strconv.FormatUint(uint64(d.Minor), 10)
}

// CPULimits are the CPU controller's limits. Times are microseconds.
type CPULimits struct {
	// Quota per Period (v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us).
	Quota  Limit `json:"quota_us"`
	Period U64   `json:"period_us"`
	// Weight is the v2 weight, 1..10000; on v1 converted from cpu.shares as
	// runc converts it: 1 + ((shares-2)*9999)/262142.
	Weight U64 `json:"weight"`
	// Shares is v1 cpu.shares as read (n/a on v2).
	Shares U64 `json:"shares"`
	// Cpus and Mems are the cpuset as configured ("" when unset) and Effective*
	// what the kernel grants after the ancestors' restrictions.
	Cpus          string `json:"cpus"`
	Mems          string `json:"mems"`
	EffectiveCpus string `json:"effective_cpus"`
	EffectiveMems string `json:"effective_mems"`
}

// Cores is the quota as a number of CPUs, or 0 when unlimited or unknown.
func (c CPULimits) Cores() float64 {
	if !c.Quota.Finite() || !c.Period.OK || c.Period.V == 0 {
		return 0
	}
	return float64(c.Quota.V) / float64(c.Period.V)
}

// cpuLimitsJSON is CPULimits as JSON writes it: a cpuset that is not
// set is null, not "" (ctop's JSON, docs/json.md).
type cpuLimitsJSON struct {
	Quota         Limit   `json:"quota_us"`
	Period        U64     `json:"period_us"`
	Weight        U64     `json:"weight"`
	Shares        U64     `json:"shares"`
	Cpus          *string `json:"cpus"`
	Mems          *string `json:"mems"`
	EffectiveCpus *string `json:"effective_cpus"`
	EffectiveMems *string `json:"effective_mems"`
}

// MarshalJSON writes an unset cpuset as null.
func (c CPULimits) MarshalJSON() ([]byte, error) {
	return json.Marshal(cpuLimitsJSON{c.Quota, c.Period, c.Weight, c.Shares,
		nullString(c.Cpus), nullString(c.Mems), nullString(c.EffectiveCpus), nullString(c.EffectiveMems)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *CPULimits) UnmarshalJSON(b []byte) error {
	var j cpuLimitsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = CPULimits{j.Quota, j.Period, j.Weight, j.Shares, deref(j.Cpus), deref(j.Mems), deref(j.EffectiveCpus), deref(j.EffectiveMems)}
	return nil
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// MemoryLimits are the memory controller's limits in bytes.
type MemoryLimits struct {
	Max  Limit `json:"max"`  // v2 memory.max, v1 memory.limit_in_bytes
	High Limit `json:"high"` // v2 memory.high (no v1 equivalent)
	// Low is v2 memory.low, v1 memory.soft_limit_in_bytes (as runc maps
	// a reservation); each as its kernel says it: v1's default is
	// unlimited, v2's 0.
	Low Limit `json:"low"`
	Min Limit `json:"min"` // v2 memory.min
	// Swap is swap alone (v2 memory.swap.max); on v1 memsw.limit - limit.
	Swap Limit `json:"swap"`
}

// IOLimit is one device's throttle (v2 io.max, v1 blkio.throttle.*).
type IOLimit struct {
	Device
	ReadBps   Limit `json:"rbps"`
	WriteBps  Limit `json:"wbps"`
	ReadIOps  Limit `json:"riops"`
	WriteIOps Limit `json:"wiops"`
}

// Limits is everything a group is limited by.
type Limits struct {
	CPU    CPULimits    `json:"cpu"`
	Memory MemoryLimits `json:"memory"`
	IO     []IOLimit    `json:"io"`
	Pids   Limit        `json:"pids_max"`
}

// Effective is the tightest limit on the path from the root to a group, and
// where it is set.
type Effective struct {
	// Cores is the tightest CPU quota in CPUs (0: unlimited).
	Cores     float64 `json:"cpus"`
	CoresFrom string  `json:"cpus_from,omitempty"`
	Memory    Limit   `json:"memory_max"`
	MemFrom   string  `json:"memory_max_from,omitempty"`
	Pids      Limit   `json:"pids_max"`
	PidsFrom  string  `json:"pids_max_from,omitempty"`
}

// effectiveJSON is Effective as JSON writes it: "max" for no CPU quota
// (not 0), null for where a limit is set when none is.
type effectiveJSON struct {
	Cores     any     `json:"cpus"`
	CoresFrom *string `json:"cpus_from"`
	Memory    Limit   `json:"memory_max"`
	MemFrom   *string `json:"memory_max_from"`
	Pids      Limit   `json:"pids_max"`
	PidsFrom  *string `json:"pids_max_from"`
}

// MarshalJSON writes no CPU quota as "max" and an unset origin as null.
func (e Effective) MarshalJSON() ([]byte, error) {
	var cores any = "max"
	if e.Cores > 0 {
		cores = e.Cores
	}
	return json.Marshal(effectiveJSON{cores, nullString(e.CoresFrom), e.Memory, nullString(e.MemFrom), e.Pids, nullString(e.PidsFrom)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Effective) UnmarshalJSON(b []byte) error {
	var j effectiveJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	cores, _ := j.Cores.(float64)
	*e = Effective{cores, deref(j.CoresFrom), j.Memory, deref(j.MemFrom), j.Pids, deref(j.PidsFrom)}
	return nil
}

// CPUStats are cumulative CPU counters in microseconds.
type CPUStats struct {
	Usage  U64 `json:"usage_us"`
	User   U64 `json:"user_us"`
	System U64 `json:"system_us"`
	// Throttling (v2 cpu.stat, v1 cpu.stat).
	Periods       U64 `json:"nr_periods"`
	Throttled     U64 `json:"nr_throttled"`
	ThrottledTime U64 `json:"throttled_us"`
}

// MemoryEvents counts how often limits were hit (v2 memory.events).
type MemoryEvents struct {
	Low     U64 `json:"low"`
	High    U64 `json:"high"`
	Max     U64 `json:"max"`
	OOM     U64 `json:"oom"`
	OOMKill U64 `json:"oom_kill"`
}

// MemoryStats are memory usage in bytes.
type MemoryStats struct {
	Current U64 `json:"current"`
	// WorkingSet is Current less the inactive file pages (see workingSet):
	// what docker stats, cAdvisor's container_memory_working_set_bytes and
	// the kubelet's eviction count as used; unknown when memory.stat has no
	// inactive_file.
	WorkingSet U64 `json:"working_set"`
	// File is the page cache charged to the group: v2 memory.stat file,
	// v1 total_cache (descendants included, as usage_in_bytes is).
	File   U64          `json:"file"`
	Peak   U64          `json:"peak"`
	Swap   U64          `json:"swap"`
	Events MemoryEvents `json:"events"`
	// Failcnt is v1 memory.failcnt: how often usage hit the limit.
	Failcnt U64 `json:"failcnt"`
	// UnderOOM is v1 memory.oom_control under_oom.
	UnderOOM bool `json:"under_oom,omitempty"`
}

// IOStat is one device's cumulative IO.
type IOStat struct {
	Device
	ReadBytes  uint64 `json:"rbytes"`
	WriteBytes uint64 `json:"wbytes"`
	ReadOps    uint64 `json:"rios"`
	WriteOps   uint64 `json:"wios"`
}

// PidsStats are the pids controller's counters.
type PidsStats struct {
	Current U64 `json:"current"`
	Peak    U64 `json:"peak"`
	// MaxEvents counts forks refused at pids.max (v2 pids.events max).
	MaxEvents U64 `json:"max_events"`
}

// PSILine is one line of a pressure file; averages are percent, Total microseconds.
type PSILine struct {
	Avg10  float64 `json:"avg10"`
	Avg60  float64 `json:"avg60"`
	Avg300 float64 `json:"avg300"`
	Total  uint64  `json:"total_us"`
}

// PSI is a pressure file (cpu.pressure, memory.pressure, io.pressure); see
// Documentation/accounting/psi.rst. Full is absent for cpu on older kernels.
type PSI struct {
	OK   bool    `json:"-"`
	Some PSILine `json:"some"`
	Full PSILine `json:"full"`
}

// MarshalJSON writes null when unavailable.
func (p PSI) MarshalJSON() ([]byte, error) {
	if !p.OK {
		return []byte("null"), nil
	}
	type plain PSI
	return json.Marshal(plain(p))
}

// Pressure is the PSI of the three resources.
type Pressure struct {
	CPU    PSI `json:"cpu"`
	Memory PSI `json:"memory"`
	IO     PSI `json:"io"`
}

// Stats is a group's usage at one moment.
type Stats struct {
	CPU    CPUStats    `json:"cpu"`
	Memory MemoryStats `json:"memory"`
	// IO is per device; nil (JSON null) when the group has no IO
	// accounting, empty when it has and no device saw IO: zero, not
	// unknown.
	IO       []IOStat  `json:"io"`
	Pids     PidsStats `json:"pids"`
	Pressure Pressure  `json:"pressure"`
}

// Group is one cgroup, merged by path across hierarchies on v1 and hybrid
// hosts (as systemd-cgtop shows them): each controller is read from the
// hierarchy that carries it.
type Group struct {
	// Path is relative to the hierarchy roots, "/" for the root.
	Path string `json:"path"`
	// Controllers lists the controllers whose files this group has.
	Controllers []string `json:"controllers"`
	// Procs is the number of processes in the group itself (cgroup.procs).
	Procs     U64       `json:"procs"`
	Limits    Limits    `json:"limits"`
	Effective Effective `json:"effective"`
	Stats     Stats     `json:"stats"`
	// Errors are per-file failures (a parse error names file and text);
	// the rest of the group is still read. null when none.
	Errors []string `json:"errors"`
}

// Snapshot is every group read at one moment, parents before children.
type Snapshot struct {
	Time   time.Time `json:"time"`
	Mode   Mode      `json:"mode"`
	Groups []*Group  `json:"groups"`
}
