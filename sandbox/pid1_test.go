package sandbox

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// zombies are the zombie children of the sandbox's processes. A zombie
// has left its cgroup (cgroup.procs no longer lists it), so /proc is
// searched for them by parent.
func (e *testEnv) zombies(s *Spec) []string {
	e.t.Helper()
	procs := strings.Fields(e.cgroupFile("pids", s.CgroupPath(), "cgroup.procs"))
	ents, err := os.ReadDir("/proc")
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, d := range ents {
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// The state and the parent follow the command name's closing
		// parenthesis.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 && f[0] == "Z" && slices.Contains(procs, f[1]) {
			out = append(out, d.Name())
		}
	}
	return out
}

// TestInit runs --init on both starts (a launch and the re-executed
// init): it reaps an orphan that the command's own pid 1 would leave a
// zombie, runs from a sealed copy of ctop, passes TERM on and ends with
// the command's status.
func TestInit(t *testing.T) {
	for _, viaInit := range []bool{false, true} {
		name := "launch"
		if viaInit {
			name = "reexec"
		}
		t.Run(name, func(t *testing.T) {
			e := newTestEnv(t)
			// The subshell's sleep is orphaned at once and ends after
			// 0.1s; its parent is then the sandbox's pid 1.
			orphan := func(init bool) []string {
				s := e.spec("sh", "-c", "(sleep 0.1 &); exec sleep 5")
				s.Init, s.viaInit, s.Name = init, viaInit, "orphan-"+strconv.FormatBool(init)
				sb, err := Start(s)
				if err != nil {
					t.Fatal(err)
				}
				defer func() {
					_, _ = Stop(e.fs, e.state, s.Name, killNow())
					_, _ = sb.Wait()
				}()
				if init {
					// A launch's Start returns once the kernel has released
					// the child's old memory in its execve, which on some
					// kernels (6.1) is just before the new image is in
					// place: until then /proc/PID/exe is still ctop's.
					self, _ := os.Readlink("/proc/self/exe")
					exe, err := os.Readlink("/proc/" + strconv.Itoa(sb.Pid) + "/exe")
					for end := time.Now().Add(time.Second); err == nil && exe == self && time.Now().Before(end); {
						time.Sleep(time.Millisecond)
						exe, err = os.Readlink("/proc/" + strconv.Itoa(sb.Pid) + "/exe")
					}
					if err != nil || !strings.HasPrefix(exe, "/memfd:ctop") {
						t.Errorf("--init runs from %q (%v), want a memfd copy", exe, err)
					}
					if f, err := os.OpenFile("/proc/"+strconv.Itoa(sb.Pid)+"/exe", os.O_WRONLY, 0); err == nil {
						f.Close()
						t.Error("--init's binary can be opened for writing")
					}
				}
				time.Sleep(600 * time.Millisecond)
				return e.zombies(&s)
			}
			if z := orphan(false); len(z) == 0 {
				t.Error("control: without --init the orphan left no zombie (sleep as pid 1 reaps nothing)")
			}
			if z := orphan(true); len(z) > 0 {
				t.Errorf("--init left zombies %v", z)
			}

			s := e.spec("sh", "-c", "exit 7")
			s.Init, s.viaInit = true, viaInit
			if res, out := e.run(s); res.ExitCode != 7 {
				t.Errorf("--init sh -c 'exit 7': exit %d, output %q", res.ExitCode, out)
			}
			s = e.spec("ctop-no-such-command")
			s.Init, s.viaInit = true, viaInit
			if res, out := e.run(s); res.ExitCode != ExitNotFound || !strings.Contains(out, "ctop-no-such-command") {
				t.Errorf("--init of a missing command: exit %d, output %q", res.ExitCode, out)
			}

			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			s = e.spec("sh", "-c", `trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.05; done`)
			s.Init, s.viaInit, s.Stdout, s.Stderr = true, viaInit, w, w
			sb, err := Start(s)
			w.Close()
			if err != nil {
				t.Fatal(err)
			}
			lines := bufio.NewScanner(r)
			if !lines.Scan() || lines.Text() != "ready" {
				t.Fatalf("sandbox said %q, want ready", lines.Text())
			}
			// TERM to the init, as ctop stop sends it.
			if err := syscall.Kill(sb.Pid, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			res, err := sb.Wait()
			if err != nil || res.ExitCode != 42 {
				t.Errorf("TERM to --init: exit %d, %v; want the command's trap's 42", res.ExitCode, err)
			}
			e.assertGone()
		})
	}
}
