package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// WriteError is a kernel file write the kernel refused. Its message names
// the file and the value and translates the usual errno.
type WriteError struct {
	// File is the kernel file's name (cpu.max, memory.limit_in_bytes...),
	// Path its full path, Value what was written.
	File, Path, Value string
	Err               error
}

func (e *WriteError) Error() string {
	hint := ""
	switch {
	case errors.Is(e.Err, syscall.EINVAL):
		hint = ": the kernel refused the value"
	case errors.Is(e.Err, syscall.EBUSY):
		hint = ": the group is busy (it has processes or children that conflict)"
	case errors.Is(e.Err, syscall.EACCES), errors.Is(e.Err, syscall.EPERM):
		hint = ": permission denied (run as root or in a delegated subtree)"
	case errors.Is(e.Err, os.ErrNotExist):
		hint = ": the file does not exist (is the controller enabled for this group?)"
	case errors.Is(e.Err, syscall.ENODEV):
		hint = ": no such device (throttles apply to whole disks, not partitions)"
	case errors.Is(e.Err, syscall.ERANGE):
		hint = ": no such CPU or memory node on this host"
	case errors.Is(e.Err, syscall.ENOSPC):
		hint = ": no space (the cpuset has no CPUs or memory nodes)"
	}
	return fmt.Sprintf("write %q to %s%s: %v", e.Value, e.Path, hint, e.Err)
}

func (e *WriteError) Unwrap() error { return e.Err }

// writeFile writes one value to a kernel file; a refusal is a *WriteError.
func writeFile(dir, name, value string) error {
	p := filepath.Join(dir, name)
	// No O_CREAT: cgroupfs answers a create of a file it lacks with EACCES,
	// which would read as "permission denied" even to root. Plain system
	// calls: an *os.File of a cgroup file, which can be polled, would be
	// added to and removed from Go's netpoller, two calls more per write.
	fd, err := openRetry(p, unix.O_WRONLY|unix.O_TRUNC)
	if err == nil {
		for {
			_, err = unix.Write(fd, []byte(value))
			if err != unix.EINTR {
				break
			}
		}
		if cerr := unix.Close(fd); err == nil {
			err = cerr
		}
	}
	if err == nil {
		return nil
	}
	return &WriteError{File: name, Path: p, Value: value, Err: err}
}

func (m *Manager) dirFor(controller, flag string) (string, int, error) {
	for _, d := range m.dirs {
		if d.has(controller) {
			return d.dir, d.version, nil
		}
	}
	return "", 0, fmt.Errorf("set %s on %s: the %s controller is not available for this group (v2: enable it in the parent's cgroup.subtree_control)", flag, m.path, controller)
}

func v1Limit(l Limit) string {
	if l.Unlimited {
		return "-1"
	}
	return strconv.FormatUint(l.V, 10)
}

func v2Limit(l Limit) string {
	if l.Unlimited {
		return "max"
	}
	return strconv.FormatUint(l.V, 10)
}

// Update writes r to the group. Fields left nil are not touched.
func (m *Manager) Update(r Resources) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if r.Devices != nil {
		return fmt.Errorf("set device rules of %s: they are written only as the group is made", m.path)
	}
	if r.CPU != nil {
		if err := m.setCPU(*r.CPU); err != nil {
			return err
		}
	}
	if r.CPUShares != nil {
		dir, v, err := m.dirFor("cpu", "cpu shares")
		if err != nil {
			return err
		}
		if v == 2 {
			err = writeFile(dir, "cpu.weight", strconv.FormatUint(sharesToWeight(*r.CPUShares), 10))
		} else {
			err = writeFile(dir, "cpu.shares", strconv.FormatUint(*r.CPUShares, 10))
		}
		if err != nil {
			return err
		}
	}
	for _, c := range []struct {
		v    *string
		file string
	}{{r.CpusetCpus, "cpuset.cpus"}, {r.CpusetMems, "cpuset.mems"}} {
		if c.v == nil {
			continue
		}
		dir, _, err := m.dirFor("cpuset", c.file)
		if err != nil {
			return err
		}
		if err := writeFile(dir, c.file, *c.v); err != nil {
			return err
		}
	}
	if r.MemoryMax != nil || r.MemorySwap != nil || r.MemoryLow != nil {
		if err := m.setMemory(r); err != nil {
			return err
		}
	}
	if r.PidsMax != nil {
		dir, _, err := m.dirFor("pids", "pids limit")
		if err != nil {
			return err
		}
		if err := writeFile(dir, "pids.max", v2Limit(*r.PidsMax)); err != nil {
			return err
		}
	}
	for _, t := range r.IO {
		if err := m.setIO(t); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) setCPU(c CPUMax) error {
	dir, v, err := m.dirFor("cpu", "cpu quota")
	if err != nil {
		return err
	}
	if v == 2 {
		quota := c.Quota
		if !quota.OK {
			// cpu.max takes the quota first: the current one is kept.
			b, err := os.ReadFile(filepath.Join(dir, "cpu.max"))
			if err != nil {
				return fmt.Errorf("set cpu period of %s: %w", m.path, err)
			}
			if quota, _, err = parseCPUMax("cpu.max", b); err != nil {
				return err
			}
		}
		val := v2Limit(quota)
		if c.Period != 0 {
			val += " " + strconv.FormatUint(c.Period, 10)
		}
		return writeFile(dir, "cpu.max", val)
	}
	if c.Period != 0 {
		if err := writeFile(dir, "cpu.cfs_period_us", strconv.FormatUint(c.Period, 10)); err != nil {
			return err
		}
	}
	if !c.Quota.OK {
		return nil
	}
	return writeFile(dir, "cpu.cfs_quota_us", v1Limit(c.Quota))
}

func (m *Manager) setMemory(r Resources) error {
	dir, v, err := m.dirFor("memory", "memory limit")
	if err != nil {
		return err
	}
	if v == 2 {
		if r.MemoryMax != nil {
			if err := writeFile(dir, "memory.max", v2Limit(*r.MemoryMax)); err != nil {
				return err
			}
		}
		if r.MemorySwap != nil {
			if r.MemoryMax == nil {
				return fmt.Errorf("set memory+swap on %s: give the memory limit with it", m.path)
			}
			swap := Max
			if r.MemorySwap.Finite() {
				if !r.MemoryMax.Finite() {
					return fmt.Errorf("set memory+swap on %s: a finite memory+swap limit needs a finite memory limit", m.path)
				}
				swap = LimitOf(r.MemorySwap.V - r.MemoryMax.V)
			}
			if err := writeFile(dir, "memory.swap.max", v2Limit(swap)); err != nil {
				return err
			}
		}
		if r.MemoryLow != nil {
			if err := writeFile(dir, "memory.low", v2Limit(*r.MemoryLow)); err != nil {
				return err
			}
		}
		return nil
	}
	// v1: memory.limit_in_bytes may never exceed memory.memsw.limit_in_bytes,
	// so the order of the two writes depends on the direction of the change.
	writeMax := func() error {
		if r.MemoryMax == nil {
			return nil
		}
		return writeFile(dir, "memory.limit_in_bytes", v1Limit(*r.MemoryMax))
	}
	writeSwap := func() error {
		if r.MemorySwap == nil {
			return nil
		}
		if _, err := os.Stat(filepath.Join(dir, "memory.memsw.limit_in_bytes")); err != nil {
			return fmt.Errorf("set memory+swap on %s: memory.memsw.limit_in_bytes is missing: the kernel has no swap accounting (boot with swapaccount=1)", m.path)
		}
		return writeFile(dir, "memory.memsw.limit_in_bytes", v1Limit(*r.MemorySwap))
	}
	if err := writeMax(); err != nil {
		if r.MemorySwap == nil {
			// Say what docker says, rather than the kernel's bare EINVAL.
			if b, rerr := os.ReadFile(filepath.Join(dir, "memory.memsw.limit_in_bytes")); rerr == nil && r.MemoryMax.Finite() {
				if sw, perr := parseLimit("memory.memsw.limit_in_bytes", b); perr == nil && sw.Finite() && r.MemoryMax.V > sw.V {
					return fmt.Errorf("set memory limit of %s to %d: above its memory+swap limit of %d: give --memory-swap with --memory", m.path, r.MemoryMax.V, sw.V)
				}
			}
			return err
		}
		if err := writeSwap(); err != nil {
			return err
		}
		if err := writeMax(); err != nil {
			return err
		}
	} else if err := writeSwap(); err != nil {
		return err
	}
	if r.MemoryLow != nil {
		if err := writeFile(dir, "memory.soft_limit_in_bytes", v1Limit(*r.MemoryLow)); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) setIO(t IOThrottle) error {
	if dir, v, err := m.dirFor("io", "io throttle"); err == nil && v == 2 {
		val := v2Limit(LimitOf(t.Rate))
		if t.Rate == 0 {
			val = "max"
		}
		return writeFile(dir, "io.max", fmt.Sprintf("%s %s=%s", t.Device, t.Kind, val))
	}
	dir, _, err := m.dirFor("blkio", "io throttle")
	if err != nil {
		return err
	}
	file := map[string]string{
		"rbps": "blkio.throttle.read_bps_device", "wbps": "blkio.throttle.write_bps_device",
		"riops": "blkio.throttle.read_iops_device", "wiops": "blkio.throttle.write_iops_device",
	}[t.Kind]
	return writeFile(dir, file, fmt.Sprintf("%s %d", t.Device, t.Rate))
}
