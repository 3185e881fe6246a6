package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sgr matches one SGR escape sequence, as capture-pane -e writes them.
var sgr = regexp.MustCompile(`\x1b\[([0-9;:]*)m`)

// sgrParams lists the parameters of the SGR sequences in s.
func sgrParams(s string) []int {
	var out []int
	for _, m := range sgr.FindAllStringSubmatch(s, -1) {
		for _, p := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ';' || r == ':' }) {
			if n, err := strconv.Atoi(p); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// styledScreen is the screen with its attributes (capture-pane -e).
func (x *tmux) styledScreen() []string {
	out, _ := x.run("capture-pane", "-e", "-p", "-t", x.target)
	return strings.Split(out, "\n")
}

// reversedRows lists the screen lines in reverse video, below the tabs.
func (x *tmux) reversedRows() []int {
	var rows []int
	for i, l := range x.styledScreen() {
		if i == 0 {
			continue
		}
		for _, p := range sgrParams(l) {
			if p == 7 {
				rows = append(rows, i)
				break
			}
		}
	}
	return rows
}

// waitCursorAt waits until the one reversed line is row.
func (x *tmux) waitCursorAt(what string, row int) {
	x.t.Helper()
	deadline := time.Now().Add(screenWait)
	var rows []int
	for time.Now().Before(deadline) {
		if rows = x.reversedRows(); len(rows) == 1 && rows[0] == row {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	x.t.Fatalf("%s: reversed rows %v, want [%d]; screen:\n%s", what, rows, row, x.screen())
}

// TestTUIHabits drives what htop, btop and k9s users do: NO_COLOR, keys
// typed in a burst, reversing the sort, the process tree, a signal from
// the menu (to a sleep the test started) and the : command line.
func TestTUIHabits(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the end-to-end test reads every process as root")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (apt-get install tmux)")
	}
	tmp := t.TempDir()
	bin := buildCtop(t, tmp)
	unique := fmt.Sprintf("ctop-test-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)

	// The process to signal: a sleep under a shell that writes the
	// sleep's exit status, so the test sees which signal ended it.
	token := fmt.Sprintf("%d.%06d", 5000+os.Getpid()%1000, time.Now().UnixNano()%1e6)
	status := filepath.Join(tmp, "status")
	sh := exec.Command("sh", "-c", "sleep "+token+"; echo $? > "+status)
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, pid := range processesWith("sleep " + token) {
			syscall.Kill(pid, syscall.SIGKILL) // ours: the token is unique
		}
		sh.Process.Kill()
		sh.Wait()
	})
	var sleepPID int
	for deadline := time.Now().Add(5 * time.Second); sleepPID == 0 && time.Now().Before(deadline); {
		for _, pid := range processesWith("sleep " + token) {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(b)) == "sleep" {
				sleepPID = pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if sleepPID == 0 {
		t.Fatal("the test's sleep did not start")
	}

	x := &tmux{t: t, socket: unique, target: unique}
	if out, err := x.run("new-session", "-d", "-s", unique, "-x", "160", "-y", "40",
		"env", "NO_COLOR=1", bin, "--state-dir", filepath.Join(tmp, "state")); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() { x.run("kill-server") })

	// NO_COLOR: no colour anywhere, the cursor row (the first under the
	// header, line 2) in reverse video, the active tab bold and reversed.
	x.waitFor("cgroups view", "CGROUP", "MEMORY")
	x.waitCursorAt("NO_COLOR cursor row", 2)
	screen := x.styledScreen()
	for i, l := range screen {
		for _, p := range sgrParams(l) {
			if p >= 30 && p <= 38 || p >= 40 && p <= 48 || p >= 90 && p <= 97 || p >= 100 && p <= 107 {
				t.Fatalf("NO_COLOR: line %d has colour (SGR %d): %q", i, p, l)
			}
		}
	}
	tab := screen[0][:strings.Index(screen[0], "Processes")]
	if ps := sgrParams(tab); !contains(ps, 7) || !contains(ps, 1) {
		t.Errorf("NO_COLOR: the active tab is not bold and reversed: %q", tab)
	}

	// Processes by pid, a stable order; a burst of four j moves four rows.
	x.keys("2")
	x.waitFor("processes", "COMMAND", "sort:cpu")
	x.keys("N")
	x.waitFor("sorted by pid", "▲PID", "sort:pid")
	x.waitCursorAt("first process", 2)
	x.text("jjjj")
	x.waitCursorAt("after send-keys -l jjjj", 6)
	x.text("kk")
	x.waitCursorAt("after send-keys -l kk", 4)

	// The same sort key again, and S, reverse the order.
	x.keys("N")
	x.waitFor("pid descending", "▼PID")
	if first, last := pidOfRow(t, x.screen(), 2), pidOfRow(t, x.screen(), 3); first <= last {
		t.Errorf("▼PID: first rows %d, %d are not descending", first, last)
	}
	x.keys("S")
	x.waitFor("S reverses", "▲PID")

	// Find the sleep with the filter (its whole command line), keep the
	// cursor on it, clear the filter and show the tree: it sits under its
	// shell with a tree line.
	x.keys("/")
	x.text(token)
	x.keys("Enter")
	x.waitFor("filtered", "sh -c sleep "+token, "sleep "+token)
	x.keys("G")
	x.escape("filter: " + token)
	x.keys("t")
	x.waitFor("tree", "└─ sleep "+token, "COMMAND (tree)")
	// The cursor, on the sleep, may be the top row: one up shows the
	// shell above it, and one down goes back to the sleep.
	x.keys("k")
	deadline := time.Now().Add(screenWait)
	for {
		lines := strings.Split(x.screen(), "\n")
		under := false
		for i := 1; i < len(lines); i++ {
			under = under || strings.Contains(lines[i], "└─ sleep "+token) && strings.Contains(lines[i-1], "─ sh -c sleep "+token)
		}
		if under {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sleep is not drawn under its shell:\n%s", x.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
	x.keys("j")

	// The signal menu: KILL asks first and n cancels; TERM goes.
	x.keys("F9")
	x.waitFor("signal menu", fmt.Sprintf("Send a signal to process %d (sleep %s)", sleepPID, token), "USR2")
	x.keys("Down", "Down", "Down", "Enter")
	x.waitFor("kill confirmation", fmt.Sprintf("Send SIGKILL to process %d", sleepPID))
	x.keys("n")
	x.waitFor("cancelled", "cancelled")
	x.keys("F9")
	x.waitFor("signal menu again", "Send a signal to process")
	x.keys("Enter")
	x.waitFor("sent", fmt.Sprintf("sent SIGTERM to process %d", sleepPID))
	if err := sh.Wait(); err != nil {
		t.Errorf("the shell: %v", err)
	}
	if b, err := os.ReadFile(status); err != nil || strings.TrimSpace(string(b)) != "143" {
		t.Errorf("sleep's exit status %q (%v), want 143: ended by SIGTERM", b, err)
	}

	// The : command line: a view by a prefix, an error, then :q.
	x.keys(":")
	x.text("cg")
	x.keys("Enter")
	x.waitFor(":cg", "CGROUP", "MEMORY")
	x.keys(":")
	x.text("nonsense")
	x.keys("Enter")
	x.waitFor(":nonsense", "unknown command :nonsense")
	x.keys(":")
	x.text("q")
	x.keys("Enter")
	deadline = time.Now().Add(screenWait)
	for {
		if _, err := x.run("has-session", "-t", unique); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ctop did not quit on :q; screen:\n%s", x.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func contains(ns []int, n int) bool {
	for _, m := range ns {
		if m == n {
			return true
		}
	}
	return false
}

// pidOfRow is the pid in the first column of screen line row.
func pidOfRow(t *testing.T, screen string, row int) int {
	t.Helper()
	lines := strings.Split(screen, "\n")
	if row >= len(lines) {
		t.Fatalf("no line %d:\n%s", row, screen)
	}
	f := strings.Fields(lines[row])
	if len(f) == 0 {
		t.Fatalf("line %d is empty:\n%s", row, screen)
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatalf("line %d does not start with a pid: %q", row, lines[row])
	}
	return pid
}
