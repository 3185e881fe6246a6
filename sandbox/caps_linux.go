package sandbox

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// defaultCaps is docker's default capability set (moby's
// oci/caps/defaults.go), see capabilities(7), less CAP_MKNOD: docker pairs
// it with a devices cgroup that lets a container open only its own few
// devices, and ctop writes no device rules, so a device node made inside
// could reach the host's disks.
func defaultCaps() []int {
	return []int{
		unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_FSETID, unix.CAP_FOWNER,
		unix.CAP_NET_RAW, unix.CAP_SETGID, unix.CAP_SETUID,
		unix.CAP_SETFCAP, unix.CAP_SETPCAP, unix.CAP_NET_BIND_SERVICE,
		unix.CAP_SYS_CHROOT, unix.CAP_KILL, unix.CAP_AUDIT_WRITE,
	}
}

// DefaultCapMask is the default capability set as the bit mask that
// /proc/PID/status prints in CapBnd and CapEff.
func DefaultCapMask() uint64 {
	var m uint64
	for _, c := range defaultCaps() {
		m |= 1 << uint(c)
	}
	return m
}

func lastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return n
		}
	}
	return unix.CAP_LAST_CAP
}
