package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctop-dev/ctop/cgroup"
)

// userTree is a pure-v2 fixture whose cgroup path for this process is a
// systemd user session's; the groups above user@1000.service belong to
// another uid (when the test can chown, i.e. runs as root).
func userTree(t *testing.T, mountinfo string, chownUpTo int) *cgroup.FS {
	t.Helper()
	root := t.TempDir()
	groups := []string{"user.slice", "user-1000.slice", "user@1000.service", "app.slice", "x.scope"}
	own := "/" + strings.Join(groups, "/")
	files := map[string]string{
		"proc/self/mountinfo":                      mountinfo,
		fmt.Sprintf("proc/%d/cgroup", os.Getpid()): "0::" + own + "\n",
		"sys/fs/cgroup/cgroup.controllers":         "cpu memory pids\n",
		"sys/fs/cgroup" + own + "/cgroup.procs":    "",
	}
	dir := filepath.Join(root, "sys/fs/cgroup")
	for _, g := range groups {
		dir = filepath.Join(dir, g)
		files[strings.TrimPrefix(dir, root+"/")+"/cgroup.subtree_control"] = ""
		files[strings.TrimPrefix(dir, root+"/")+"/cgroup.procs"] = ""
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() == 0 {
		dir = filepath.Join(root, "sys/fs/cgroup")
		for _, g := range groups[:chownUpTo] {
			dir = filepath.Join(dir, g)
			if err := os.Chown(dir, 4242, 4242); err != nil {
				t.Fatal(err)
			}
		}
	}
	f, err := cgroup.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestUserPlacement(t *testing.T) {
	v2 := "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n"
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	parent, state, err := UserPlacement(userTree(t, v2, 2))
	want := "/user.slice/ctop"
	if os.Geteuid() == 0 {
		// Above user@1000.service the groups belong to another uid.
		want = "/user.slice/user-1000.slice/user@1000.service/ctop"
	}
	if err != nil || parent != want || state != "/run/user/1000/ctop" {
		t.Errorf("UserPlacement = %q, %q, %v; want %q, /run/user/1000/ctop", parent, state, err, want)
	}
	if os.Geteuid() == 0 {
		// Nothing on the path is the caller's: nothing is delegated.
		if _, _, err := UserPlacement(userTree(t, v2, 5)); err == nil || !strings.Contains(err.Error(), "no cgroup subtree is delegated") {
			t.Errorf("undelegated tree: %v", err)
		}
	}
	hybrid := "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n" + strings.Replace(v2, "/sys/fs/cgroup ", "/sys/fs/cgroup/unified ", 1)
	if _, _, err := UserPlacement(userTree(t, hybrid, 0)); err == nil || !strings.Contains(err.Error(), "run ctop as root") {
		t.Errorf("hybrid host: %v, want an error saying to run as root", err)
	}
}
