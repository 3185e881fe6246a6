package sandbox

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/moby/sys/user"
	"golang.org/x/sys/unix"
)

const (
	testPasswd = `root:x:0:0:root:/root:/bin/sh
alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:100::/home/bob:/bin/sh
minus:x:-1:0::/:/bin/sh
`
	testGroup = `root:x:0:
alice:x:1000:
users:x:100:alice,bob
wheel:x:10:alice
`
)

// userRoot writes a root holding etc/passwd and etc/group.
func userRoot(t *testing.T, root, passwd, group string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"passwd": passwd, "group": group} {
		if err := os.WriteFile(filepath.Join(root, "etc", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestParseUserResolve: names and a uid's defaults come from the root's
// files, with docker's semantics, which moby/sys/user's GetExecUser
// gives for every spec it takes.
func TestParseUserResolve(t *testing.T) {
	root := userRoot(t, t.TempDir(), testPasswd, testGroup)
	for _, c := range []struct {
		in   string
		want User
	}{
		{"alice", User{UID: 1000, GID: 1000, Groups: []uint32{100, 10}, Home: "/home/alice"}},
		{"1000", User{UID: 1000, GID: 1000, Groups: []uint32{100, 10}, Home: "/home/alice"}},
		{"alice:users", User{UID: 1000, GID: 100, Home: "/home/alice"}},
		{"alice:55", User{UID: 1000, GID: 55, Home: "/home/alice"}},
		{"bob", User{UID: 1001, GID: 100, Groups: []uint32{100}, Home: "/home/bob"}},
		{"1001:wheel", User{UID: 1001, GID: 10, Home: "/home/bob"}},
		{"root", User{UID: 0, GID: 0, Home: "/root"}},
		{"4242", User{UID: 4242, GID: 0}},
		{"4242:wheel", User{UID: 4242, GID: 10}},
		{"4242:7", User{UID: 4242, GID: 7}},
	} {
		got, err := ParseUser(c.in, root)
		if err != nil {
			t.Errorf("ParseUser(%q): %v", c.in, err)
			continue
		}
		if d := gocmp.Diff(c.want, *got); d != "" {
			t.Errorf("ParseUser(%q) (-want +got):\n%s", c.in, d)
		}
		ref, err := user.GetExecUser(c.in, &user.ExecUser{Home: "/"},
			strings.NewReader(testPasswd), strings.NewReader(testGroup))
		if err != nil {
			t.Fatalf("GetExecUser(%q): %v", c.in, err)
		}
		var groups []uint32
		for _, g := range ref.Sgids {
			groups = append(groups, uint32(g))
		}
		home := got.Home
		if home == "" {
			home = "/"
		}
		if int(got.UID) != ref.Uid || int(got.GID) != ref.Gid || !gocmp.Equal(got.Groups, groups) || home != ref.Home {
			t.Errorf("ParseUser(%q) = %+v; GetExecUser gives %+v", c.in, *got, *ref)
		}
	}
	for _, in := range []string{"nobody", "alice:staff", "4242:staff", "minus", "alice:4294967295"} {
		if u, err := ParseUser(in, root); err == nil {
			t.Errorf("ParseUser(%q) = %+v, want an error", in, u)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseUser(%q): error of more than one line: %q", in, err)
		}
	}
}

// TestRunUserError: an unknown name is one line naming --user and the
// value, and --user resolves in --rootfs's files whatever the order given.
func TestRunUserError(t *testing.T) {
	root := userRoot(t, t.TempDir(), testPasswd, testGroup)
	_, err := ParseRun(Given{"user": {"nobody"}, "rootfs": {root}})
	if err == nil || !strings.HasPrefix(err.Error(), "--user nobody: ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("--user nobody: %v", err)
	}
	r, err := ParseRun(Given{"user": {"bob"}, "rootfs": {root}})
	if err != nil || r.Spec.User == nil || r.Spec.User.UID != 1001 || r.Spec.User.Home != "/home/bob" {
		t.Errorf("--user bob --rootfs: %+v, %v", r.Spec.User, err)
	}
}

// TestParseUserSymlinks: an image's /etc/passwd that is a symlink resolves
// inside the image, as if it were "/": one to a host path, absolute or by
// "..", never reads the host's file.
func TestParseUserSymlinks(t *testing.T) {
	host := t.TempDir()
	hostPasswd := filepath.Join(host, "passwd")
	if err := os.WriteFile(hostPasswd, []byte("mallory:x:4321:4321::/m:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(filepath.Join(t.TempDir(), "etc"), hostPasswd)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{hostPasswd, "../../../../../../../../" + strings.TrimPrefix(hostPasswd, "/"), rel} {
		root := t.TempDir()
		if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(root, "etc/passwd")); err != nil {
			t.Fatal(err)
		}
		if u, err := ParseUser("mallory", root); err == nil {
			t.Errorf("/etc/passwd -> %s: read outside the root: %+v", target, u)
		}
	}
	// A link that stays in the image is followed, resolved in it.
	root := userRoot(t, t.TempDir(), "", testGroup)
	if err := os.MkdirAll(filepath.Join(root, "lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "lib/passwd"), []byte(testPasswd), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(root, "etc/passwd"))
	if err := os.Symlink("/lib/passwd", filepath.Join(root, "etc/passwd")); err != nil {
		t.Fatal(err)
	}
	if u, err := ParseUser("bob", root); err != nil || u.UID != 1001 {
		t.Errorf("/etc/passwd -> /lib/passwd in the root: %+v, %v", u, err)
	}
	// A fifo is refused, not waited on.
	fifo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(fifo, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(fifo, "etc/passwd"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := ParseUser("bob", fifo); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("a fifo /etc/passwd was read")
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("ParseUser blocked on a fifo /etc/passwd")
	}
}

// TestUserResolved: a --user resolved from passwd and group files runs
// with its uid, gid and supplementary groups (as id prints them) and its
// home as HOME, on both ways of starting a sandbox, with and without a
// rootfs; a uid without an entry gets gid 0 and HOME=/.
func TestUserResolved(t *testing.T) {
	e := newTestEnv(t)
	rootfs := userRoot(t, busyboxRootfs(t), testPasswd, testGroup)
	if err := os.Symlink("busybox", filepath.Join(rootfs, "bin/id")); err != nil {
		t.Fatal(err)
	}
	script := `echo "$(id -u) $(id -g) $(id -G) $HOME"`
	for _, c := range []struct{ user, want string }{
		{"alice", "1000 1000 1000 10 100 /home/alice"},
		{"alice:wheel", "1000 10 10 /home/alice"},
		{"4242", "4242 0 0 /"},
	} {
		// The same files, without a rootfs, for the host's id.
		u, err := ParseUser(c.user, rootfs)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range []struct {
			name           string
			rootfs         string
			viaInit, check bool
		}{
			{"launch", "", false, true}, {"re-executed init", "", true, true}, {"rootfs", rootfs, true, false},
		} {
			s := e.spec("sh", "-c", script)
			s.User, s.Rootfs, s.viaInit = u, path.rootfs, path.viaInit
			if path.rootfs != "" {
				s.Env = []string{"PATH=/bin"}
			}
			if path.check && canLaunch(&s) == path.viaInit {
				t.Skipf("%s: no launch here", path.name)
			}
			res, out := e.run(s)
			if got := sortGroups(strings.TrimSpace(out)); res.ExitCode != 0 || got != c.want {
				t.Errorf("--user %s (%s): exit %d, %q; want %q", c.user, path.name, res.ExitCode, out, c.want)
			}
		}
	}
	e.assertGone()
}

// sortGroups puts id -G's groups after the first (the gid) in numeric
// order: coreutils and busybox list them in different orders.
func sortGroups(s string) string {
	f := strings.Fields(s)
	if len(f) < 4 {
		return s
	}
	slices.SortFunc(f[3:len(f)-1], func(a, b string) int {
		return cmp.Or(len(a)-len(b), strings.Compare(a, b))
	})
	return strings.Join(f, " ")
}
