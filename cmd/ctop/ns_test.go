package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctop-dev/ctop/nsinfo"
)

// The commands run over nsinfo's fixture trees: a hybrid host whose pid 1
// is unreadable, and a pure v2 host.
var nsFixtures = []string{
	filepath.Join("..", "..", "nsinfo", "testdata", "hybrid"),
	filepath.Join("..", "..", "nsinfo", "testdata", "v2"),
}

func TestNsBadType(t *testing.T) {
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"ns", "--type", "mount"})
	err := cmd.Execute()
	if err == nil {
		t.Fatal("ns --type mount: no error")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, `"mount"`) {
		t.Errorf("error %q: want one line naming the bad type", msg)
	}
	for _, typ := range nsinfo.Types() {
		if !strings.Contains(msg, string(typ)) {
			t.Errorf("error %q does not list accepted type %s", msg, typ)
		}
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q, want nothing", out.String())
	}
}

func TestNsJSON(t *testing.T) {
	for _, root := range nsFixtures {
		t.Run(filepath.Base(root), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := runNs(&out, &errOut, "", nsOpts{root: root, json: true}); err != nil {
				t.Fatal(err)
			}
			var got struct{ Namespaces []nsEntry }
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			fs, err := nsinfo.Open(root)
			if err != nil {
				t.Fatal(err)
			}
			procs, err := fs.Processes()
			if err != nil {
				t.Fatal(err)
			}
			var want []nsEntry
			for _, ns := range nsinfo.Group(procs) {
				p, err := fs.Process(ns.PID)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, nsEntry{namespaceJSON: namespaceJSON{Type: ns.Type, Inode: ns.ID.Ino, Device: ns.ID.Dev},
					NProcs: ns.NProcs, PID: ns.PID, User: p.User, Command: p.Argv(), CommandLine: p.Command(), PIDs: ns.PIDs})
			}
			if diff := cmp.Diff(want, got.Namespaces, cmp.AllowUnexported(nsEntry{})); diff != "" {
				t.Errorf("ns --json (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNsTypeFilter(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := runNs(&out, &errOut, nsinfo.PID, nsOpts{root: nsFixtures[1]}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// testdata/v2: the host's pid namespace and the one of pid 424.
	if len(lines) != 3 {
		t.Fatalf("ns --type pid printed %d lines, want a header and 2:\n%s", len(lines), out.String())
	}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); f[1] != "pid" {
			t.Errorf("line %q: type %s, want pid", l, f[1])
		}
	}
}

// TestPsJSON holds the hand-written --json output to what encoding/json
// makes of the documented types.
func TestPsJSON(t *testing.T) {
	for _, root := range nsFixtures {
		t.Run(filepath.Base(root), func(t *testing.T) {
			fs, err := nsinfo.Open(root)
			if err != nil {
				t.Fatal(err)
			}
			procs, err := fs.Processes()
			if err != nil {
				t.Fatal(err)
			}
			ref, err := nsinfo.Host(procs)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := runPs(&out, psOpts{root: root, json: true}); err != nil {
				t.Fatal(err)
			}
			wantBytes, err := json.Marshal(psDoc(ref, procs, procOwners(root, procs)))
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatalf("ps --json is not JSON: %v\n%s", err, out.String())
			}
			if err := json.Unmarshal(wantBytes, &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ps --json (-encoding/json +hand-written):\n%s", diff)
			}
		})
	}
}

func TestPsTableMarksIsolated(t *testing.T) {
	var out bytes.Buffer
	if err := runPs(&out, psOpts{root: nsFixtures[0]}); err != nil {
		t.Fatal(err)
	}
	fs, err := nsinfo.Open(nsFixtures[0])
	if err != nil {
		t.Fatal(err)
	}
	procs, err := fs.Processes()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := nsinfo.Host(procs)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !strings.Contains(lines[0], "pid 2 (kthreadd)") {
		t.Errorf("first line %q does not name the reference, kthreadd", lines[0])
	}
	if len(lines) != 2+len(procs) {
		t.Fatalf("%d lines, want 2 + %d processes", len(lines), len(procs))
	}
	for k, p := range procs {
		f := strings.Fields(lines[2+k])
		for i, id := range p.NS {
			want := id.String()
			if id.Known() && id != ref.NS[i] {
				want += "*"
			}
			if f[3+i] != want {
				t.Errorf("pid %d %s: %q, want %q", p.PID, nsinfo.Types()[i], f[3+i], want)
			}
		}
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "tab\tnl\nc\x01r\r", "ünï", "bad\xffutf8", "<&>"} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var a, b string
		if err := json.Unmarshal(appendString(nil, s), &a); err != nil {
			t.Fatalf("appendString(%q) = %s: %v", s, appendString(nil, s), err)
		}
		if err := json.Unmarshal(want, &b); err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Errorf("appendString(%q) decodes to %q, encoding/json's to %q", s, a, b)
		}
	}
}

// TestNsPsAsNobody runs ns and ps as an unprivileged user on the live host
// (re-running this test binary as uid 65534): they must succeed, mark
// other users' namespaces unavailable and still find a reference.
func TestNsPsAsNobody(t *testing.T) {
	if os.Getenv("CTOP_NOBODY_HELPER") != "" {
		var out, errOut bytes.Buffer
		var err error
		if os.Getenv("CTOP_NOBODY_HELPER") == "ns" {
			err = runNs(&out, &errOut, "", nsOpts{root: "/", json: true})
		} else {
			err = runPs(&out, psOpts{root: "/", json: true})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Stdout.Write(out.Bytes())
		os.Exit(0)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to an unprivileged user")
	}
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		_ = os.Chmod(d, 0o755) // t.TempDir and its parent, made for this test
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "ctop.test")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(which string) []byte {
		cmd := exec.Command(bin, "-test.run=^TestNsPsAsNobody$")
		cmd.Env = append(os.Environ(), "CTOP_NOBODY_HELPER="+which)
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s as nobody: %v: %s", which, err, errOut.String())
		}
		return out
	}

	var ps struct {
		Reference *struct{ PID int }
		Processes []struct {
			PID         int
			UID         int
			Namespaces  map[string]*struct{ Inode uint64 }
			Unavailable []string
		}
	}
	if err := json.Unmarshal(run("ps"), &ps); err != nil {
		t.Fatal(err)
	}
	if ps.Reference == nil {
		t.Error("ps as nobody: no reference")
	}
	own, others := 0, 0
	for _, p := range ps.Processes {
		unavailable := slices.Contains(p.Unavailable, "ns")
		if p.UID == 0 && p.Namespaces["net"] != nil {
			t.Errorf("ps as nobody read root's pid %d's namespaces", p.PID)
		}
		if p.UID == 65534 && !unavailable {
			own++
		}
		if p.UID == 0 && unavailable {
			others++
		}
	}
	if own == 0 || others == 0 {
		t.Errorf("ps as nobody: %d own processes with namespaces, %d root's without; want both", own, others)
	}

	var ns struct{ Namespaces []nsEntry }
	if err := json.Unmarshal(run("ns"), &ns); err != nil {
		t.Fatal(err)
	}
	if len(ns.Namespaces) < len(nsinfo.Types()) {
		t.Errorf("ns as nobody: %d namespaces, want at least its own %d", len(ns.Namespaces), len(nsinfo.Types()))
	}
}
