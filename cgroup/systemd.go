package cgroup

import "strconv"

// SystemdProperty is one resource-control property of a systemd unit
// (systemd.resource-control(5)), its Value written as
// `systemctl set-property` takes it.
type SystemdProperty struct {
	Name, Value string
}

// String is the property as NAME=VALUE, one argument of
// `systemctl set-property`. It may hold spaces (the IO properties do):
// quoting it for a shell is the caller's business.
func (p SystemdProperty) String() string { return p.Name + "=" + p.Value }

// SystemdProperties are the unit properties that record r, in the terms of
// systemd.resource-control(5), the unified (v2) vocabulary systemd speaks
// on every hierarchy:
//
//   - CPU quota as CPUQuota= in percent of one CPU over CPUQuotaPeriodSec=
//     (100ms when r keeps the period); an unlimited quota is the empty
//     assignment, which resets it.
//   - cpu.shares as CPUWeight=, converted as Update writes cpu.weight.
//   - cpuset as AllowedCPUs= and AllowedMemoryNodes=.
//   - memory as MemoryMax=, MemoryLow= and MemorySwapMax=; systemd's swap
//     limit is swap alone (memory.swap.max), so r's memory+swap becomes
//     memory+swap - memory, and is left out unless r also sets memory.
//   - pids as TasksMax=.
//   - IO throttles as IO{Read,Write}{Bandwidth,IOPS}Max= "/dev/block/MAJ:MIN
//     RATE".
//
// "max" is "infinity". Resources systemd has no property for (devices,
// memory.high) are left out.
func SystemdProperties(r Resources) []SystemdProperty {
	var out []SystemdProperty
	add := func(name, value string) { out = append(out, SystemdProperty{name, value}) }
	bytes := func(l Limit) string {
		if !l.Finite() {
			return "infinity"
		}
		return strconv.FormatUint(l.V, 10)
	}
	if r.CPU != nil {
		period := r.CPU.Period
		if period == 0 {
			period = 100000
		}
		switch {
		case r.CPU.Quota.Finite():
			add("CPUQuota", strconv.FormatFloat(100*float64(r.CPU.Quota.V)/float64(period), 'f', -1, 64)+"%")
		case r.CPU.Quota.OK:
			add("CPUQuota", "")
		}
		if r.CPU.Period != 0 {
			add("CPUQuotaPeriodSec", strconv.FormatUint(r.CPU.Period, 10)+"us")
		}
	}
	if r.CPUShares != nil {
		// The weight ctop writes to cpu.weight itself (sharesToWeight), so
		// that systemd is told what the kernel now holds.
		add("CPUWeight", strconv.FormatUint(sharesToWeight(*r.CPUShares), 10))
	}
	if r.CpusetCpus != nil {
		add("AllowedCPUs", *r.CpusetCpus)
	}
	if r.CpusetMems != nil {
		add("AllowedMemoryNodes", *r.CpusetMems)
	}
	if r.MemoryMax != nil {
		add("MemoryMax", bytes(*r.MemoryMax))
	}
	if r.MemoryLow != nil {
		add("MemoryLow", bytes(*r.MemoryLow))
	}
	if r.MemorySwap != nil && r.MemoryMax != nil {
		sw := Max
		if r.MemorySwap.Finite() && r.MemoryMax.Finite() {
			sw = LimitOf(r.MemorySwap.V - r.MemoryMax.V)
		}
		add("MemorySwapMax", bytes(sw))
	}
	if r.PidsMax != nil {
		add("TasksMax", bytes(*r.PidsMax))
	}
	for _, t := range r.IO {
		prop := map[string]string{"rbps": "IOReadBandwidthMax", "wbps": "IOWriteBandwidthMax",
			"riops": "IOReadIOPSMax", "wiops": "IOWriteIOPSMax"}[t.Kind]
		v := "infinity"
		if t.Rate != 0 {
			v = strconv.FormatUint(t.Rate, 10)
		}
		add(prop, "/dev/block/"+t.Device.String()+" "+v)
	}
	return out
}
