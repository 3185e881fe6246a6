package systemd

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strings"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"

	"github.com/ctop-dev/ctop/cgroup"
)

// infinity is systemd's "no limit" for sizes, counts and times
// (CGROUP_LIMIT_MAX, USEC_INFINITY).
const infinity = math.MaxUint64

// DBusName is the name over D-Bus of a property that
// cgroup.SystemdProperties names as `systemctl set-property` takes it:
// the same but for the CPU quota and its period, which D-Bus carries in
// microseconds (org.freedesktop.systemd1(5)).
func DBusName(text string) string {
	switch text {
	case "CPUQuota":
		return "CPUQuotaPerSecUSec"
	case "CPUQuotaPeriodSec":
		return "CPUQuotaPeriodUSec"
	}
	return text
}

// ioRate is one entry of the IO*Max properties, a(st): a device node and
// a rate (infinity: no limit).
type ioRate struct {
	Path string
	Rate uint64
}

// Properties are the typed unit properties that record r: the properties
// cgroup.SystemdProperties writes as text (see DBusName), with their
// values as systemd's D-Bus API takes them:
//
//   - the CPU quota as CPUQuotaPerSecUSec, microseconds of CPU time per
//     second (quota/period), infinity for none, exact: the percentage of
//     CPUQuota= would round it to 10 ms;
//   - AllowedCPUs and AllowedMemoryNodes as bit masks (ay);
//   - IO throttles as (device node, rate) pairs, grouped by property.
//
// What systemd has no property for (devices) is left out; the caller
// writes it to the unit's group itself (Delegate=yes lets it).
func Properties(r cgroup.Resources) ([]sd.Property, error) {
	var out []sd.Property
	add := func(name string, v any) { out = append(out, sd.Property{Name: name, Value: dbus.MakeVariant(v)}) }
	limit := func(l cgroup.Limit) uint64 {
		if !l.Finite() {
			return infinity
		}
		return l.V
	}
	if c := r.CPU; c != nil {
		period := c.Period
		if period == 0 {
			period = 100000
		}
		switch {
		case c.Quota.Finite():
			// Rounded up, so that the kernel's quota (this times the
			// period, over a second) is never below the one asked for.
			add("CPUQuotaPerSecUSec", (c.Quota.V*1000000+period-1)/period)
		case c.Quota.OK:
			add("CPUQuotaPerSecUSec", uint64(infinity))
		}
		if c.Period != 0 {
			add("CPUQuotaPeriodUSec", c.Period)
		}
	}
	if r.CPUShares != nil {
		add("CPUWeight", cgroup.CPUWeight(*r.CPUShares))
	}
	for _, m := range []struct {
		name string
		list *string
	}{{"AllowedCPUs", r.CpusetCpus}, {"AllowedMemoryNodes", r.CpusetMems}} {
		if m.list == nil {
			continue
		}
		mask, err := bitmask(*m.list)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %w", m.name, *m.list, err)
		}
		add(m.name, mask)
	}
	if r.MemoryMax != nil {
		add("MemoryMax", limit(*r.MemoryMax))
	}
	if r.MemoryLow != nil {
		add("MemoryLow", limit(*r.MemoryLow))
	}
	if r.MemorySwap != nil && r.MemoryMax != nil {
		sw := uint64(infinity)
		if r.MemorySwap.Finite() && r.MemoryMax.Finite() {
			sw = r.MemorySwap.V - r.MemoryMax.V
		}
		add("MemorySwapMax", sw)
	}
	if r.PidsMax != nil {
		add("TasksMax", limit(*r.PidsMax))
	}
	for _, k := range []struct{ kind, name string }{
		{"rbps", "IOReadBandwidthMax"}, {"wbps", "IOWriteBandwidthMax"},
		{"riops", "IOReadIOPSMax"}, {"wiops", "IOWriteIOPSMax"},
	} {
		var rates []ioRate
		for _, t := range r.IO {
			if t.Kind != k.kind {
				continue
			}
			rate := uint64(infinity)
			if t.Rate != 0 {
				rate = t.Rate
			}
			rates = append(rates, ioRate{blockPath(t.Device), rate})
		}
		if rates != nil {
			add(k.name, rates)
		}
	}
	return out, nil
}

// bitmask turns a cpuset list ("0-3,5") into the bytes of a mask, CPU n
// being bit n%8 of byte n/8, as AllowedCPUs= travels over D-Bus.
func bitmask(list string) ([]byte, error) {
	ns, err := cgroup.ParseCPUList(list)
	if err != nil {
		return nil, err
	}
	var b []byte
	for _, n := range ns {
		for len(b) <= n/8 {
			b = append(b, 0)
		}
		b[n/8] |= 1 << (n % 8)
	}
	return b, nil
}

// blockPath is a node of block device d that systemd can stat to find d
// again: udev's /dev/block/MAJ:MIN link, or where there is no udev the
// node the kernel names in /sys/dev/block/MAJ:MIN/uevent.
func blockPath(d cgroup.Device) string {
	link := "/dev/block/" + d.String()
	if _, err := os.Stat(link); err == nil {
		return link
	}
	f, err := os.Open("/sys/dev/block/" + d.String() + "/uevent")
	if err != nil {
		return link
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if name, ok := strings.CutPrefix(s.Text(), "DEVNAME="); ok {
			return "/dev/" + name
		}
	}
	return link
}
