package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/spf13/pflag"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/sandbox"
)

// buildCtop builds ctop as make build does (static) into a temporary
// directory: the tests here look at the binary from outside, as a user's
// terminal sees it.
func buildCtop(t *testing.T, flags ...string) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		// The test binary runs where it was built, so the build's GOROOT
		// is still meaningful.
		//lint:ignore SA1019 see above; a missing go skips
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(gobin); err != nil {
			t.Skip("no go command to build ctop with")
		}
	}
	bin := filepath.Join(t.TempDir(), "ctop")
	cmd := exec.Command(gobin, append(append([]string{"build"}, flags...), "-o", bin, ".")...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/ctop: %v\n%s", err, out)
	}
	return bin
}

// onPTY runs bin with a pseudo-terminal as its controlling terminal and
// its stdin, stdout and stderr, and returns what it wrote and how long it
// took. The test holds the multiplexer side and never answers anything the
// command asks the terminal.
func onPTY(t *testing.T, bin string, args ...string) ([]byte, time.Duration, error) {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	defer ptm.Close()
	fd := int(ptm.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	// A terminal that answers colour queries, as termenv judges them.
	cmd.Env = append(os.Environ(), "TERM=xterm-256color", "COLORTERM=truecolor")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	var out bytes.Buffer
	read := make(chan struct{})
	go func() {
		// EIO once every holder of the replica side has closed it.
		_, _ = io.Copy(&out, ptm)
		close(read)
	}()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		pts.Close()
		t.Fatal(err)
	}
	pts.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("ctop %s stalled on a terminal that does not answer (killed after 10s)", strings.Join(args, " "))
	}
	took := time.Since(start)
	select {
	case <-read:
	case <-time.After(5 * time.Second):
		t.Fatalf("ctop %s: its terminal stayed open after it exited", strings.Join(args, " "))
	}
	return out.Bytes(), took, werr
}

// TestNoTerminalQuery: commands that draw no screen neither query the
// terminal nor wait for an answer (bubbletea's init did both; see
// third_party/README.md), and print no escape sequence at all.
func TestNoTerminalQuery(t *testing.T) {
	bin := buildCtop(t)
	state := t.TempDir()
	parent := fmt.Sprintf("/ctop-test-%d-pty", os.Getpid())
	cases := [][]string{
		{"--version"},
		{"version"},
		{"ls", "--state-dir", state, "--cgroup-parent", parent},
		{"stats", "--no-stream", "-i", "100ms", "--state-dir", state, "--cgroup-parent", parent},
	}
	if os.Geteuid() == 0 {
		if f, err := cgroup.Open("/"); err == nil {
			t.Cleanup(func() {
				if m, err := cgroup.Load(f, parent); err == nil {
					t.Errorf("cleanup: %s was left behind", parent)
					_ = m.Kill()
					_ = m.Delete()
				}
			})
			cases = append(cases, []string{"run", "--state-dir", state, "--cgroup-parent", parent, "--", "true"})
		}
	} else {
		t.Log("not root: ctop run -- true is not tried")
	}
	for _, args := range cases {
		out, took, err := onPTY(t, bin, args...)
		name := strings.Join(args, " ")
		if err != nil {
			t.Errorf("ctop %s: %v: %q", name, err, out)
		}
		if took > time.Second {
			t.Errorf("ctop %s took %s on a terminal that does not answer, want well under a second", name, took)
		}
		if i := bytes.IndexByte(out, 0x1b); i >= 0 {
			t.Errorf("ctop %s wrote an escape sequence at byte %d: %q", name, i, out)
		}
	}
}

// TestVersion checks --version and version against what the Go
// toolchain reads from the same binary.
func TestVersion(t *testing.T) {
	bin := buildCtop(t)
	var outs []string
	for _, arg := range []string{"--version", "version"} {
		out, err := exec.Command(bin, arg).Output()
		if err != nil {
			t.Fatalf("ctop %s: %v", arg, err)
		}
		outs = append(outs, string(out))
	}
	if outs[0] != outs[1] {
		t.Errorf("ctop --version %q and ctop version %q differ", outs[0], outs[1])
	}
	re := regexp.MustCompile(`^ctop version (\S+)( commit [0-9a-f]{7}( \(modified\))?)? (go\S+)\n$`)
	m := re.FindStringSubmatch(outs[0])
	if m == nil {
		t.Fatalf("ctop --version: %q, want one line like ctop version (devel) commit 1a2b3c4 go1.26", outs[0])
	}
	if m[4] != runtime.Version() {
		t.Errorf("ctop --version says %s, built by %s", m[4], runtime.Version())
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return
	}
	mod, err := exec.Command(gobin, "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if rev := regexp.MustCompile(`vcs\.revision=([0-9a-f]+)`).FindSubmatch(mod); rev != nil {
		if want := " commit " + string(rev[1][:7]); m[2] == "" || !strings.HasPrefix(m[2], want) {
			t.Errorf("ctop --version: %q, want%s", outs[0], want)
		}
	} else if m[2] != "" {
		t.Errorf("ctop --version names a commit %q that the build did not record", m[2])
	}
}

func TestVersionText(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "1a2b3c4d5e6f"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := versionText(bi, true), "(devel) commit 1a2b3c4 (modified) go1.26.8"; got != want {
		t.Errorf("versionText = %q, want %q", got, want)
	}
	bi.Main.Version, bi.Settings = "v0.3.0", nil
	if got, want := versionText(bi, true), "v0.3.0 go1.26.8"; got != want {
		t.Errorf("versionText = %q, want %q", got, want)
	}
}

// TestManPages runs make man's generator (a ctop built with -tags
// gendocs): every command has its page, and the page of run names every
// flag of run.
func TestManPages(t *testing.T) {
	bin := buildCtop(t, "-tags", "gendocs")
	dir := t.TempDir()
	if out, err := exec.Command(bin, "__gen-docs", dir).CombinedOutput(); err != nil {
		t.Fatalf("ctop __gen-docs: %v: %s", err, out)
	}
	root := newRootCmd()
	for _, c := range root.Commands() {
		if c.Hidden || !c.IsAvailableCommand() {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "ctop-"+c.Name()+".1")); err != nil {
			t.Errorf("no man page for ctop %s: %v", c.Name(), err)
		}
	}
	page, err := os.ReadFile(filepath.Join(dir, "ctop-run.1"))
	if err != nil {
		t.Fatal(err)
	}
	run, _, _ := root.Find([]string{"run"})
	n := 0
	run.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		n++
		if !bytes.Contains(page, []byte(`\fB--`+f.Name+`\fP`)) {
			t.Errorf("the man page of run does not mention --%s", f.Name)
		}
		if f.Shorthand != "" && !bytes.Contains(page, []byte(`\fB-`+f.Shorthand+`\fP, \fB--`+f.Name)) {
			t.Errorf("the man page of run does not give -%s for --%s", f.Shorthand, f.Name)
		}
	})
	if n < len(sandbox.Options())/2 {
		t.Errorf("run has %d visible flags: the test looked at the wrong command", n)
	}
	if _, err := exec.Command(buildCtop(t), "__gen-docs", dir).CombinedOutput(); err == nil {
		t.Error("the ctop built without -tags gendocs has __gen-docs")
	}
}
