package cgroup

import (
	"fmt"
	"strconv"
	"strings"
)

// AnyDevice is a DeviceRule's Major or Minor for every number: "*" in
// devices.allow (cgroup-v1/devices.rst).
const AnyDevice int64 = -1

// DeviceRule is one rule of a group's device access list: which device
// nodes its processes may open for reading (r) or writing (w) and create
// with mknod(2) (m). See the kernel's admin-guide/cgroup-v1/devices.rst;
// on v2 the same rules are an eBPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE (cgroup-v2.rst, "Device controller"). The
// kernel checks them when a node is opened or made, never on a file
// descriptor already open.
type DeviceRule struct {
	// Allow: the rule grants Access; otherwise it takes it away.
	Allow bool
	// Type is 'c' (character), 'b' (block) or 'a' (all devices, every
	// number).
	Type byte
	// Major and Minor are the device's numbers, or AnyDevice.
	Major, Minor int64
	// Access is a set of r, w and m.
	Access string
}

// String writes the rule as devices.allow and devices.list take it:
// "c 1:3 rwm", "b *:* m", "a *:* rwm".
func (d DeviceRule) String() string {
	num := func(n int64) string {
		if n == AnyDevice {
			return "*"
		}
		return strconv.FormatInt(n, 10)
	}
	if d.Type == 'a' {
		return "a *:* " + d.Access
	}
	return string(d.Type) + " " + num(d.Major) + ":" + num(d.Minor) + " " + d.Access
}

// Validate checks a rule without touching the kernel.
func (d DeviceRule) Validate() error {
	switch d.Type {
	case 'a', 'b', 'c':
	default:
		return fmt.Errorf("device rule %q: type %q: want a, b or c", d.String(), d.Type)
	}
	if d.Major < AnyDevice || d.Minor < AnyDevice || d.Major > 1<<32-1 || d.Minor > 1<<32-1 {
		return fmt.Errorf("device rule %q: bad device number", d.String())
	}
	if d.Access == "" || strings.Trim(d.Access, "rwm") != "" {
		return fmt.Errorf("device rule %q: access %q: want a set of r, w and m", d.String(), d.Access)
	}
	return nil
}

// DenyAllDevices is the rule that starts a default-deny list: nothing may
// be opened or made but what the rules after it allow.
func DenyAllDevices() DeviceRule {
	return DeviceRule{Type: 'a', Major: AnyDevice, Minor: AnyDevice, Access: "rwm"}
}
