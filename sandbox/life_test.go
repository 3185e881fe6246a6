package sandbox

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
)

// These root integration tests follow a detached sandbox's life after it
// exits, and the graceful stop, as docker users expect them.

// detach starts cmd detached as name and returns it.
func (e *testEnv) detach(name string, edit func(*Spec), cmd ...string) *Sandbox {
	e.t.Helper()
	s := e.spec(cmd...)
	s.Name, s.Detach = name, true
	if edit != nil {
		edit(&s)
	}
	sb, err := Start(s)
	if err != nil {
		e.t.Fatalf("start %s: %v", name, err)
	}
	// The monitor is this process's child: reaped at the end.
	e.t.Cleanup(func() { sb.Wait() })
	return sb
}

// logs returns the sandbox's whole log.
func (e *testEnv) logs(name string, o LogOptions) string {
	e.t.Helper()
	var b bytes.Buffer
	if err := Logs(e.state, name, o, &b); err != nil {
		e.t.Fatalf("logs %s: %v", name, err)
	}
	return b.String()
}

// awaitLog waits until the sandbox's log holds want (its trap is set).
func (e *testEnv) awaitLog(name, want string) {
	e.t.Helper()
	for range 500 {
		if strings.Contains(e.logs(name, LogOptions{}), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("sandbox %s never wrote %q", name, want)
}

// exitOf waits for the sandbox and returns its exit record.
func (e *testEnv) exitOf(name string) *State {
	e.t.Helper()
	st, err := WaitExit(e.fs, e.state, name)
	if err != nil {
		e.t.Fatalf("wait %s: %v", name, err)
	}
	if st.ExitCode == nil || st.FinishedAt == nil {
		e.t.Fatalf("wait %s: exit record without code or time: %+v", name, st)
	}
	return st
}

func (e *testEnv) groupGone(name string) {
	e.t.Helper()
	if _, err := cgroup.Load(e.fs, filepath.Join(e.parent, name)); !errors.Is(err, cgroup.ErrNotFound) {
		e.t.Errorf("cgroup of %s remains after its exit: %v", name, err)
	}
}

func TestExitedRecordStaysUntilRm(t *testing.T) {
	e := newTestEnv(t)
	sb := e.detach("s", nil, "sh", "-c", "echo hello; echo two; exit 3")
	if res, err := sb.Wait(); err != nil || res.ExitCode != 3 {
		t.Fatalf("ended %d, %v; want 3", res.ExitCode, err)
	}
	st, err := Load(e.state, "s")
	if err != nil {
		t.Fatalf("the record is gone after exit: %v", err)
	}
	if !st.Exited() || st.ExitCode == nil || *st.ExitCode != 3 || st.FinishedAt == nil || st.Reason != nil {
		t.Errorf("exit record %+v", st)
	}
	if got := st.StatusText(st.FinishedAt.Add(2 * time.Minute)); got != "Exited (3) 2 minutes ago" {
		t.Errorf("status %q", got)
	}
	e.groupGone("s")
	if ents, _ := os.ReadDir(filepath.Join(e.state, "s")); len(ents) != 1 || ents[0].Name() != logName {
		t.Errorf("the sandbox's directory holds %v, want its log alone", ents)
	}
	if got := e.logs("s", LogOptions{}); got != "hello\ntwo\n" {
		t.Errorf("logs %q", got)
	}
	one, zero := 1, 0
	if got := e.logs("s", LogOptions{Tail: &one}); got != "two\n" {
		t.Errorf("logs --tail 1: %q", got)
	}
	if got := e.logs("s", LogOptions{Tail: &zero, Follow: true}); got != "" {
		t.Errorf("logs -f --tail 0 of an exited sandbox: %q", got)
	}
	if st := e.exitOf("s"); *st.ExitCode != 3 {
		t.Errorf("wait of an exited sandbox: %d", *st.ExitCode)
	}
	// The name stays taken until rm.
	s := e.spec("true")
	s.Name, s.Detach = "s", true
	if _, err := Start(s); err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("a second sandbox named s: %v, want a conflict", err)
	}
	if _, err := Stop(e.fs, e.state, "s", StopOptions{}); err != nil {
		t.Errorf("stop of an exited sandbox: %v", err)
	}
	if err := Kill(e.fs, e.state, "s", syscall.SIGKILL); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("kill of an exited sandbox: %v", err)
	}
	if err := Remove(e.fs, e.state, "s", false); err != nil {
		t.Fatal(err)
	}
	e.assertGone()
	sb = e.detach("s", nil, "true")
	if res, _ := sb.Wait(); res.ExitCode != 0 {
		t.Errorf("the name's next sandbox ended %d", res.ExitCode)
	}
	if err := Remove(e.fs, e.state, "s", false); err != nil {
		t.Fatal(err)
	}
	e.assertGone()
}

func TestRmFlagLeavesNothing(t *testing.T) {
	e := newTestEnv(t)
	sb := e.detach("gone", func(s *Spec) { s.Remove = true }, "sh", "-c", "echo hi; exit 2")
	if res, _ := sb.Wait(); res.ExitCode != 2 {
		t.Errorf("ended %d, want 2", res.ExitCode)
	}
	e.assertGone()
	// A waiter that was there before the exit still reads the code.
	e.detach("waited", func(s *Spec) { s.Remove = true }, "sh", "-c", "sleep 0.3; exit 4")
	if st := e.exitOf("waited"); *st.ExitCode != 4 {
		t.Errorf("wait of a --rm sandbox: %d, want 4", *st.ExitCode)
	}
	for range 100 {
		if _, err := Load(e.state, "waited"); errors.Is(err, ErrNotFound) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.assertGone()
}

func TestLogsFollowAndWait(t *testing.T) {
	e := newTestEnv(t)
	e.detach("f", nil, "sh", "-c", "echo a; sleep 0.5; echo b; exit 7")
	t0 := time.Now()
	if got := e.logs("f", LogOptions{Follow: true}); got != "a\nb\n" {
		t.Errorf("logs -f: %q", got)
	}
	if d := time.Since(t0); d < 300*time.Millisecond {
		t.Errorf("logs -f returned after %v, before the sandbox ended", d)
	}
	if st := e.exitOf("f"); *st.ExitCode != 7 {
		t.Errorf("wait: %d, want 7", *st.ExitCode)
	}
	e.detach("w", nil, "sh", "-c", "sleep 0.3; exit 5")
	if st := e.exitOf("w"); *st.ExitCode != 5 {
		t.Errorf("wait: %d, want 5", *st.ExitCode)
	}
}

func TestStopGraceful(t *testing.T) {
	e := newTestEnv(t)
	trap := `trap "echo bye; exit 0" TERM; echo ready; while :; do sleep 0.1; done`
	e.detach("term", nil, "sh", "-c", trap)
	e.awaitLog("term", "ready")
	t0 := time.Now()
	if _, err := Stop(e.fs, e.state, "term", StopOptions{}); err != nil {
		t.Fatal(err)
	}
	if st := e.exitOf("term"); *st.ExitCode != 0 || time.Since(t0) > 5*time.Second {
		t.Errorf("a sandbox that traps TERM ended %d after %v; want 0 within the grace", *st.ExitCode, time.Since(t0))
	}
	if !strings.Contains(e.logs("term", LogOptions{}), "bye") {
		t.Error("the TERM handler did not run")
	}
	e.groupGone("term")

	e.detach("deaf", nil, "sh", "-c", `trap "" TERM; echo ready; while :; do sleep 0.1; done`)
	e.awaitLog("deaf", "ready")
	one := time.Second
	t0 = time.Now()
	if _, err := Stop(e.fs, e.state, "deaf", StopOptions{Timeout: &one}); err != nil {
		t.Fatal(err)
	}
	st := e.exitOf("deaf")
	if d := time.Since(t0); *st.ExitCode != 137 || d < time.Second || d > 5*time.Second {
		t.Errorf("a sandbox that ignores TERM ended %d after %v; want 137 after -t 1", *st.ExitCode, d)
	}
	if st.Reason == nil || !strings.Contains(*st.Reason, "killed by signal 9") {
		t.Errorf("reason %v", st.Reason)
	}
	e.groupGone("deaf")

	// -s, and the sandbox's own --stop-signal.
	usr1 := `trap "echo usr1; exit 5" USR1; echo ready; while :; do sleep 0.1; done`
	e.detach("sig", nil, "sh", "-c", usr1)
	e.awaitLog("sig", "ready")
	if _, err := Stop(e.fs, e.state, "sig", StopOptions{Signal: syscall.SIGUSR1}); err != nil {
		t.Fatal(err)
	}
	if st := e.exitOf("sig"); *st.ExitCode != 5 {
		t.Errorf("stop -s USR1: ended %d, want 5 from the handler", *st.ExitCode)
	}
	e.detach("own", func(s *Spec) { s.StopSignal = syscall.SIGUSR1 }, "sh", "-c", usr1)
	e.awaitLog("own", "ready")
	if _, err := Stop(e.fs, e.state, "own", StopOptions{}); err != nil {
		t.Fatal(err)
	}
	if st := e.exitOf("own"); *st.ExitCode != 5 {
		t.Errorf("--stop-signal USR1: ended %d, want 5 from the handler", *st.ExitCode)
	}
}

func TestKillAndRmForce(t *testing.T) {
	e := newTestEnv(t)
	e.detach("k", nil, "sleep", "60")
	if err := Kill(e.fs, e.state, "k", syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if st := e.exitOf("k"); *st.ExitCode != 137 {
		t.Errorf("kill: ended %d, want 137", *st.ExitCode)
	}
	e.detach("t", nil, "sh", "-c", `trap "exit 9" TERM; echo ready; while :; do sleep 0.1; done`)
	e.awaitLog("t", "ready")
	if err := Kill(e.fs, e.state, "t", syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if st := e.exitOf("t"); *st.ExitCode != 9 {
		t.Errorf("kill -s TERM: ended %d, want 9", *st.ExitCode)
	}
	e.detach("r", nil, "sleep", "60")
	if err := Remove(e.fs, e.state, "r", false); err == nil || !strings.Contains(err.Error(), "stop it first or use -f") {
		t.Errorf("rm of a running sandbox: %v", err)
	}
	if err := Remove(e.fs, e.state, "r", true); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"k", "t"} {
		if err := Remove(e.fs, e.state, n, false); err != nil {
			t.Error(err)
		}
	}
	e.assertGone()
}

// usage is the group's CPU time so far, in microseconds.
func (e *testEnv) usage(path string) uint64 {
	e.t.Helper()
	g, err := e.fs.Read(path)
	if err != nil || !g.Stats.CPU.Usage.OK {
		e.t.Fatalf("cpu usage of %s: %v", path, err)
	}
	return g.Stats.CPU.Usage.V
}

func TestPauseUnpause(t *testing.T) {
	e := newTestEnv(t)
	sb := e.detach("busy", nil, "sh", "-c", "while :; do :; done")
	time.Sleep(100 * time.Millisecond)
	if err := Pause(e.fs, e.state, "busy"); err != nil {
		t.Fatal(err)
	}
	a := e.usage(sb.Cgroup())
	time.Sleep(300 * time.Millisecond)
	if b := e.usage(sb.Cgroup()); b != a {
		t.Errorf("paused, the busy loop used %dµs of CPU in 300ms", b-a)
	}
	st, _ := Load(e.state, "busy")
	ReadPaused(e.fs, st)
	if st.Status != StatusPaused || !strings.HasSuffix(st.StatusText(time.Now()), "(Paused)") {
		t.Errorf("status of a paused sandbox: %q, %q", st.Status, st.StatusText(time.Now()))
	}
	if err := Pause(e.fs, e.state, "busy"); err == nil {
		t.Error("pausing a paused sandbox succeeded")
	}
	if err := Unpause(e.fs, e.state, "busy"); err != nil {
		t.Fatal(err)
	}
	a = e.usage(sb.Cgroup())
	time.Sleep(300 * time.Millisecond)
	if b := e.usage(sb.Cgroup()); b-a < 50000 {
		t.Errorf("unpaused, the busy loop used only %dµs of CPU in 300ms", b-a)
	}
	// A paused sandbox stops too: it is thawed to take the kill.
	if err := Pause(e.fs, e.state, "busy"); err != nil {
		t.Fatal(err)
	}
	if _, err := Stop(e.fs, e.state, "busy", killNow()); err != nil {
		t.Fatal(err)
	}
	if st := e.exitOf("busy"); *st.ExitCode != 137 {
		t.Errorf("stop of a paused sandbox: ended %d", *st.ExitCode)
	}
	e.groupGone("busy")
}

func TestMonitorSIGKILLLeavesExitedRecord(t *testing.T) {
	e := newTestEnv(t)
	e.detach("lost", nil, "sleep", "60")
	st, err := Load(e.state, "lost")
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(st.Owner, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for alive(st.Pid, st.PidStart) || st.OwnerAlive() {
		time.Sleep(10 * time.Millisecond)
	}
	msgs, err := Reap(e.fs, e.state, e.parent)
	if err != nil || len(msgs) != 1 || !strings.Contains(msgs[0], "lost") {
		t.Errorf("reap: %q, %v", msgs, err)
	}
	e.groupGone("lost")
	states, _ := List(e.state)
	if len(states) != 1 || !states[0].Exited() || states[0].ExitCode != nil || states[0].Reason == nil {
		t.Fatalf("after reap: %+v", states)
	}
	if got := states[0].StatusText(time.Now()); got != "Exited (unknown)" {
		t.Errorf("status %q", got)
	}
	// A second reap leaves the record alone.
	if msgs, _ := Reap(e.fs, e.state, e.parent); len(msgs) != 0 {
		t.Errorf("second reap: %q", msgs)
	}
	if err := Remove(e.fs, e.state, "lost", false); err != nil {
		t.Fatal(err)
	}
	e.assertGone()
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{"TERM": syscall.SIGTERM, "SIGTERM": syscall.SIGTERM, "sigkill": syscall.SIGKILL, "15": syscall.SIGTERM, "usr1": syscall.SIGUSR1, "64": 64} {
		if got, err := ParseSignal(in); err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "65", "-1", "NOPE", "SIG"} {
		if _, err := ParseSignal(in); err == nil {
			t.Errorf("ParseSignal(%q) succeeded", in)
		}
	}
}

func TestTailOffset(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct {
		text string
		n    int
		want string
	}{
		{"a\nb\nc\n", 1, "c\n"}, {"a\nb\nc\n", 2, "b\nc\n"}, {"a\nb\nc\n", 5, "a\nb\nc\n"},
		{"a\nb\nc", 1, "c"}, {"a\nb\nc\n", 0, ""}, {"", 3, ""}, {"\n\n", 1, "\n"},
	} {
		if err := f.Truncate(0); err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte(tc.text), 0); err != nil {
			t.Fatal(err)
		}
		off, err := tailOffset(f, tc.n)
		if got := tc.text[off:]; err != nil || got != tc.want {
			t.Errorf("last %d lines of %q: %q, %v; want %q", tc.n, tc.text, got, err, tc.want)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "Less than a second", time.Second: "1 second", 30 * time.Second: "30 seconds",
		time.Minute: "About a minute", 5 * time.Minute: "5 minutes", time.Hour: "About an hour",
		3 * time.Hour: "3 hours", 72 * time.Hour: "3 days",
	} {
		if got := HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
