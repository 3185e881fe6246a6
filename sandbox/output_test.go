package sandbox

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeState records st in stateDir as a sandbox's ctop does.
func writeState(t *testing.T, stateDir string, st State) {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stateDir, st.Name+stateExt), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOutput(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "output.log")
	text := bytes.Repeat([]byte("0123456789"), 10)
	if err := os.WriteFile(log, text, 0o600); err != nil {
		t.Fatal(err)
	}
	st := &State{Name: "web", Log: log}
	if b, err := st.Output(15); err != nil || string(b) != string(text[85:]) {
		t.Errorf("Output(15) = %q, %v, want the last 15 bytes", b, err)
	}
	if b, err := st.Output(0); err != nil || !bytes.Equal(b, text) {
		t.Errorf("Output(0) = %q, %v, want all of it", b, err)
	}
	if err := os.WriteFile(log, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := st.Output(15); err != nil || len(b) != 0 {
		t.Errorf("Output of an empty log = %q, %v, want nothing", b, err)
	}
	if _, err := (&State{Name: "fg"}).Output(15); err == nil || !strings.Contains(err.Error(), "not started detached") {
		t.Errorf("Output without a log: %v, want an error saying it was not detached", err)
	}
	if _, err := (&State{Name: "gone", Log: filepath.Join(dir, "missing.log")}).Output(15); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("Output of a missing log: %v, want an error naming the sandbox", err)
	}
}

func TestHostname(t *testing.T) {
	dir := t.TempDir()
	writeState(t, dir, State{Name: "web", Cgroup: "/ctop/web", Hostname: "www"})
	writeState(t, dir, State{Name: "db", Cgroup: "/ctop/db"})
	for _, tc := range []struct {
		cgroup, want string
		ok           bool
	}{
		{"/ctop/web", "www", true},
		{"/ctop/db", "db", true}, // no hostname recorded: its name
		{"/ctop/other", "", false},
	} {
		if got, ok := Hostname(dir, tc.cgroup); got != tc.want || ok != tc.ok {
			t.Errorf("Hostname(%s) = %q, %v, want %q, %v", tc.cgroup, got, ok, tc.want, tc.ok)
		}
	}
	if got, ok := Hostname(filepath.Join(dir, "none"), "/ctop/web"); ok {
		t.Errorf("Hostname in a missing state directory = %q, want none", got)
	}
}
