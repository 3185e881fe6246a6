package sandbox

import (
	"os"

	"github.com/ctop-dev/ctop/cgroup"
)

// defaultDeviceRules are a docker 20.10 container's devices cgroup: moby's
// oci/defaults.go DefaultLinuxSpec (deny all; allow c 1:5, 1:3, 1:9, 1:8,
// 5:0 and 5:1 rwm; deny c 10:229, fuse) followed by the rules runc 1.0 and
// 1.1 (which docker 20.10 ships) append to every container
// (libcontainer/specconv AllowedDevices: mknod of any node, null, random,
// full, tty, zero, urandom, the pts and ptmx, and tun 10:200, which runc
// 1.2 dropped). A node may thus be made (CAP_MKNOD) but only these opened.
func defaultDeviceRules() []cgroup.DeviceRule {
	c := func(major, minor int64, access string) cgroup.DeviceRule {
		return cgroup.DeviceRule{Allow: true, Type: 'c', Major: major, Minor: minor, Access: access}
	}
	every := cgroup.AnyDevice
	return []cgroup.DeviceRule{
		cgroup.DenyAllDevices(),
		// moby's DefaultLinuxSpec.
		c(1, 5, "rwm"), // zero
		c(1, 3, "rwm"), // null
		c(1, 9, "rwm"), // urandom
		c(1, 8, "rwm"), // random
		c(5, 0, "rwm"), // tty
		c(5, 1, "rwm"), // console
		{Allow: false, Type: 'c', Major: 10, Minor: 229, Access: "rwm"}, // fuse
		// runc's AllowedDevices.
		c(every, every, "m"),
		{Allow: true, Type: 'b', Major: every, Minor: every, Access: "m"},
		c(1, 3, "rwm"),       // null
		c(1, 8, "rwm"),       // random
		c(1, 7, "rwm"),       // full
		c(5, 0, "rwm"),       // tty
		c(1, 5, "rwm"),       // zero
		c(1, 9, "rwm"),       // urandom
		c(136, every, "rwm"), // pts
		c(5, 2, "rwm"),       // ptmx
		c(10, 200, "rwm"),    // tun
	}
}

// deviceRules are the sandbox's devices cgroup: docker's defaults, then
// each --device. The devices cgroup is root's: the kernel lets no other
// user load a device filter (v2) or write a v1 group's list, and a
// sandbox of an unprivileged user is confined by its user namespace
// instead, which may make no device node, as a rootless docker's is.
func (s *Spec) deviceRules() ([]cgroup.DeviceRule, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	out := defaultDeviceRules()
	for _, d := range s.Devices {
		r, err := d.rule()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
