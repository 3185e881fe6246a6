package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
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
			var got struct{ Namespaces []nsJSON }
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
			var want []nsJSON
			for _, ns := range nsinfo.Group(procs) {
				p, err := fs.Process(ns.PID)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, nsJSON{NS: ns.ID.Ino, Dev: ns.ID.Dev, Type: string(ns.Type), NProcs: ns.NProcs,
					PID: ns.PID, User: p.User, Command: p.Command(), PIDs: ns.PIDs})
			}
			if diff := cmp.Diff(want, got.Namespaces); diff != "" {
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
			wantBytes, err := json.Marshal(psDoc(ref, procs))
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
