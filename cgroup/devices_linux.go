package cgroup

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// setDevices writes a group's device rules, once, as it is made: on v1
// (a hybrid host's included) to the devices hierarchy's devices.deny and
// devices.allow, in order; where no v1 hierarchy has the devices
// controller, as an eBPF program attached to the group's v2 directory.
func (m *Manager) setDevices(rules []DeviceRule) error {
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return err
		}
	}
	for _, d := range m.dirs {
		if d.version == 1 && d.has("devices") {
			return writeDevicesV1(d.dir, rules)
		}
	}
	if dir, ok := m.Dir(""); ok {
		return attachDeviceFilter(dir, rules)
	}
	return fmt.Errorf("set device rules of %s: no devices hierarchy and no v2 group", m.path)
}

// writeDevicesV1 writes rules to a v1 devices group. "a" in devices.deny
// empties the list and makes it default-deny; the kernel takes one rule
// per write, whatever the file offset, so each file is opened once and
// written once per rule (docker's list is some 18 rules, and an open and
// a close cost more than the write on cgroupfs).
func writeDevicesV1(dir string, rules []DeviceRule) error {
	fds := map[string]int{}
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, r := range rules {
		file, v := "devices.deny", r.String()
		if r.Allow {
			file = "devices.allow"
		}
		if r.Type == 'a' {
			v = "a"
		}
		p := filepath.Join(dir, file)
		fd, ok := fds[file]
		if !ok {
			var err error
			if fd, err = openRetry(p, unix.O_WRONLY|unix.O_TRUNC); err != nil {
				return &WriteError{File: file, Path: p, Value: v, Err: err}
			}
			fds[file] = fd
		}
		for {
			_, err := unix.Write(fd, []byte(v))
			if err == nil {
				break
			}
			if err != unix.EINTR {
				return &WriteError{File: file, Path: p, Value: v, Err: err}
			}
		}
	}
	return nil
}

// attachDeviceFilter compiles rules into a BPF_PROG_TYPE_CGROUP_DEVICE
// program (containerd's cgroup2.DeviceFilter: default deny, the last
// matching rule decides, as on v1) and attaches it to the v2 group dir
// with BPF_F_ALLOW_MULTI, so that a program an ancestor has keeps
// applying too. The attachment outlives ctop's fd: the kernel keeps it
// until the group is removed.
//
// NOTE: the program lets a rule match an access when any of the accesses
// asked for is among the rule's, where v1 wants all of them: an open for
// reading and writing would pass a rule that allows reading only. Each
// rule that allows one of r and w is therefore followed by one that
// denies the other on the same devices, which the program checks first.
func attachDeviceFilter(dir string, rules []DeviceRule) error {
	spec := make([]specs.LinuxDeviceCgroup, 0, len(rules))
	for _, r := range rules {
		// The package reads -1 as any number.
		major, minor := r.Major, r.Minor
		if r.Type == 'a' {
			major, minor = AnyDevice, AnyDevice
		}
		spec = append(spec, specs.LinuxDeviceCgroup{Allow: r.Allow, Type: string(r.Type), Major: &major, Minor: &minor, Access: r.Access})
		hasR, hasW := strings.Contains(r.Access, "r"), strings.Contains(r.Access, "w")
		if r.Allow && hasR != hasW {
			other := "w"
			if hasW {
				other = "r"
			}
			spec = append(spec, specs.LinuxDeviceCgroup{Allow: false, Type: string(r.Type), Major: &major, Minor: &minor, Access: other})
		}
	}
	insts, license, err := cgroup2.DeviceFilter(spec)
	if err != nil {
		return fmt.Errorf("device rules of %s: %w", dir, err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("device rules of %s: %w", dir, err)
	}
	defer unix.Close(fd)
	if _, err := cgroup2.LoadAttachCgroupDeviceFilter(insts, license, fd); err != nil {
		return fmt.Errorf("attach device filter to %s: %w", dir, err)
	}
	return nil
}

// DevicePrograms counts the device filter programs (eBPF, type
// BPF_PROG_TYPE_CGROUP_DEVICE) attached to the v2 group directory dir
// itself, not those of its ancestors.
func DevicePrograms(dir string) (int, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("query device programs of %s: %w", dir, err)
	}
	defer unix.Close(fd)
	res, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		if errors.Is(err, unix.EINVAL) {
			return 0, nil
		}
		return 0, fmt.Errorf("query device programs of %s: %w", dir, err)
	}
	return len(res.Programs), nil
}

// SetDevices writes the device rules of a group that another manager made
// (a systemd scope with Delegate=yes), as Create does for its own: before
// the group's processes run the command, since rules apply to opens made
// after them.
func (m *Manager) SetDevices(rules []DeviceRule) error { return m.setDevices(rules) }
