package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStateKilledMidWrite: what a ctop killed while writing a state
// leaves does not hold the name for good.
func TestStateKilledMidWrite(t *testing.T) {
	dir := t.TempDir()
	st := &State{Name: "a", Owner: 1, Status: StatusRunning}
	if err := reserve(dir, st); err != nil {
		t.Fatal(err)
	}
	st.file.Close()
	// Made whole: a second reservation of the name is refused.
	if err := reserve(dir, &State{Name: "a"}); err == nil || !strings.Contains(err.Error(), "conflict") {
		t.Fatalf("second reserve of a: %v, want a conflict", err)
	}
	// An update killed before its truncate: the new state, then the old
	// one's tail.
	b, _ := os.ReadFile(filepath.Join(dir, "a.json"))
	if err := os.WriteFile(filepath.Join(dir, "a.json"), append(b, []byte("\n  \"tail\": 1\n}\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := Load(dir, "a"); err != nil || got.Owner != st.Owner || got.Name != "a" {
		t.Errorf("Load of a state with an old tail = %+v, %v; want the state", got, err)
	}
	// Killed between making the file and writing it (the fallback without
	// O_TMPFILE): Reap removes the empty file once it is old enough.
	empty := filepath.Join(dir, "b.json")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := reapEmpty(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(empty); err != nil {
		t.Fatalf("a fresh empty state (being written) was removed: %v", err)
	}
	old := time.Now().Add(-2 * emptyGrace)
	if err := os.Chtimes(empty, old, old); err != nil {
		t.Fatal(err)
	}
	if err := reapEmpty(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(empty); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an old empty state is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a.json")); err != nil {
		t.Errorf("reapEmpty removed a written state: %v", err)
	}
}
