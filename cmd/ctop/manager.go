package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/names"
	"github.com/ctop-dev/ctop/sandbox"
)

// keepSwap makes --memory alone keep a container's swap allowance, as the
// brief for ctop update asks of docker's containers: on v1 the kernel
// limits memory+swap together (memory.memsw.limit_in_bytes), so raising
// memory.limit_in_bytes alone would shrink what is left for swap; ctop
// writes memory+swap = new memory + old swap instead. v2 limits swap alone
// (memory.swap.max), which a memory.max write leaves as it is. It returns
// the new memory+swap limit when it set one.
func keepSwap(v1 bool, old cgroup.MemoryLimits, r *cgroup.Resources) (cgroup.Limit, bool) {
	if !v1 || r.MemoryMax == nil || r.MemorySwap != nil || !r.MemoryMax.Finite() || !old.Swap.Finite() || !old.Max.Finite() {
		return cgroup.Limit{}, false
	}
	sw := cgroup.LimitOf(r.MemoryMax.V + old.Swap.V)
	r.MemorySwap = &sw
	return sw, true
}

// syncHint is the line ctop update prints when another manager owns the
// group it changed: that manager's own record still holds the old limits
// (docker inspect shows them, a restart puts them back), and the command
// that records the new ones there. "" when ctop or nobody owns it.
func syncHint(owner names.Name, g sandbox.Given, r cgroup.Resources) string {
	switch {
	case owner.Kind == names.KindSandbox || !owner.Known():
		return ""
	case owner.Pod != "" || owner.PodUID != "":
		return fmt.Sprintf("%s is managed by the kubelet, whose pod spec still holds the old limits and may restore them: change the pod's resources to keep them", owner)
	case owner.Kind == names.KindContainer && (owner.Runtime == names.RuntimeDocker || owner.Runtime == names.RuntimePodman):
		who := owner.Name
		if who == "" {
			who = owner.ShortID
		}
		return fmt.Sprintf("%s's own record of %s still holds the old limits (a restart puts them back); to keep it in sync: %s update %s %s",
			owner.Runtime, who, owner.Runtime, strings.Join(givenFlags(g), " "), who)
	case owner.Runtime == names.RuntimeSystemd && owner.Unit != "":
		props := systemdProps(r)
		if len(props) == 0 {
			return ""
		}
		return fmt.Sprintf("systemd's record of %s still holds the old limits (a restart or daemon-reload puts them back); to keep it in sync: systemctl set-property %s %s",
			owner.Unit, owner.Unit, strings.Join(props, " "))
	}
	return ""
}

// givenFlags writes the options given back as flags, in the option
// table's order: ctop's update flags are docker's vocabulary.
func givenFlags(g sandbox.Given) []string {
	var out []string
	for _, o := range sandbox.Options() {
		for _, v := range g[o.Name] {
			out = append(out, "--"+o.Name+" "+shellWord(v))
		}
	}
	return out
}

// systemdProps are the unit properties (systemd.resource-control(5)) that
// record r.
func systemdProps(r cgroup.Resources) []string {
	var out []string
	bytes := func(l cgroup.Limit) string {
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
			out = append(out, "CPUQuota="+strconv.FormatFloat(100*float64(r.CPU.Quota.V)/float64(period), 'f', -1, 64)+"%")
		case r.CPU.Quota.OK:
			out = append(out, "CPUQuota=")
		}
		if r.CPU.Period != 0 {
			out = append(out, "CPUQuotaPeriodSec="+strconv.FormatUint(r.CPU.Period, 10)+"us")
		}
	}
	if r.CPUShares != nil {
		// runc's conversion of cpu.shares (2..262144) to cpu.weight (1..10000).
		out = append(out, "CPUWeight="+strconv.FormatUint(1+((*r.CPUShares-2)*9999)/262142, 10))
	}
	if r.CpusetCpus != nil {
		out = append(out, "AllowedCPUs="+*r.CpusetCpus)
	}
	if r.CpusetMems != nil {
		out = append(out, "AllowedMemoryNodes="+*r.CpusetMems)
	}
	if r.MemoryMax != nil {
		out = append(out, "MemoryMax="+bytes(*r.MemoryMax))
	}
	if r.MemoryLow != nil {
		out = append(out, "MemoryLow="+bytes(*r.MemoryLow))
	}
	if r.MemorySwap != nil && r.MemoryMax != nil {
		sw := cgroup.Max
		if r.MemorySwap.Finite() && r.MemoryMax.Finite() {
			sw = cgroup.LimitOf(r.MemorySwap.V - r.MemoryMax.V)
		}
		out = append(out, "MemorySwapMax="+bytes(sw))
	}
	if r.PidsMax != nil {
		out = append(out, "TasksMax="+bytes(*r.PidsMax))
	}
	for _, t := range r.IO {
		prop := map[string]string{"rbps": "IOReadBandwidthMax", "wbps": "IOWriteBandwidthMax",
			"riops": "IOReadIOPSMax", "wiops": "IOWriteIOPSMax"}[t.Kind]
		v := "infinity"
		if t.Rate != 0 {
			v = strconv.FormatUint(t.Rate, 10)
		}
		out = append(out, "'"+prop+"=/dev/block/"+t.Device.String()+" "+v+"'")
	}
	return out
}

// shellWord quotes v for a shell when it needs it.
func shellWord(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n'\"\\$`*?[]{}()<>|&;!#~") {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
