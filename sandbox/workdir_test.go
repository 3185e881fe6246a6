package sandbox

import (
	"strings"
	"testing"
)

// TestWorkdirMade: -w makes a missing directory and its missing parents
// inside the sandbox (here in its own tmpfs, so the host is untouched),
// owned by --user, on both starts.
func TestWorkdirMade(t *testing.T) {
	for _, viaInit := range []bool{false, true} {
		e := newTestEnv(t)
		s := e.spec("sh", "-c", `pwd; stat -c %u:%g . ..; stat -c %u /tmp`)
		s.Tmpfs = []Tmpfs{{Dest: "/tmp"}}
		s.Workdir, s.User, s.viaInit = "/tmp/ctop-wd/a", &User{UID: 1000, GID: 1001}, viaInit
		res, out := e.run(s)
		if want := "/tmp/ctop-wd/a\n1000:1001\n1000:1001\n0\n"; res.ExitCode != 0 || out != want {
			t.Errorf("via init %v: -w %s: exit %d, output %q, want %q", viaInit, s.Workdir, res.ExitCode, out, want)
		}
		// An existing directory is left as it is.
		s = e.spec("sh", "-c", `pwd; stat -c %u .`)
		s.Workdir, s.User, s.viaInit = "/", &User{UID: 1000, GID: 1000}, viaInit
		if res, out := e.run(s); res.ExitCode != 0 || strings.TrimSpace(out) != "/\n0" {
			t.Errorf("via init %v: -w /: exit %d, output %q", viaInit, res.ExitCode, out)
		}
	}
}
