package sandbox

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxSignal is the highest signal number (SIGRTMAX on Linux).
const maxSignal = 64

// ParseSignal reads a signal as docker does: a name with or without SIG,
// in any case ("TERM", "sigterm", "SIGTERM"), or a number ("15").
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > maxSignal {
			return 0, fmt.Errorf("signal %q: want 1-%d", s, maxSignal)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("signal %q: want a name like TERM or SIGTERM, or a number 1-%d", s, maxSignal)
}

// SignalNames are the standard signals' names without SIG (TERM, KILL,
// ...), as ParseSignal reads them: what completion offers.
func SignalNames() []string {
	var out []string
	for s := syscall.Signal(1); s < 32; s++ {
		if n := unix.SignalName(s); n != "" {
			out = append(out, strings.TrimPrefix(n, "SIG"))
		}
	}
	return out
}
