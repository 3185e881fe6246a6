package names

import (
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	dockerID = "36219a26d5030d0b6f5e8d2b7e38c1d3a2f0c4e5b6a798011223344556677889"
	podmanID = "7a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
)

func TestParse(t *testing.T) {
	uidU := "5f1c2a3b_4d5e_6f70_8192_a3b4c5d6e7f8"
	uid := "5f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8"
	cid := "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988"
	tests := []struct {
		path string
		want Name
	}{
		{"/", Name{}},
		{"/ctop-test-1/x", Name{}},
		{"/docker", Name{}},
		{"/system.slice", Name{Kind: KindSlice, Runtime: RuntimeSystemd, Unit: "system.slice"}},
		{"/system.slice/cron.service", Name{Kind: KindUnit, Runtime: RuntimeSystemd, Unit: "cron.service"}},
		{"/system.slice/dev-hugepages.mount", Name{Kind: KindUnit, Runtime: RuntimeSystemd, Unit: "dev-hugepages.mount"}},
		{"/init.scope", Name{Kind: KindScope, Runtime: RuntimeSystemd, Unit: "init.scope"}},
		{"/user.slice/user-1000.slice", Name{Kind: KindUser, Runtime: RuntimeSystemd, Unit: "user-1000.slice", Name: "1000"}},
		{"/user.slice/user-1000.slice/user@1000.service", Name{Kind: KindUser, Runtime: RuntimeSystemd, Unit: "user@1000.service", Name: "1000"}},
		{"/user.slice/user-1000.slice/session-3.scope", Name{Kind: KindSession, Runtime: RuntimeSystemd, Unit: "session-3.scope", Name: "3"}},
		{`/machine.slice/machine-qemu\x2d1\x2dwin11.scope`, Name{Kind: KindMachine, Runtime: RuntimeSystemd, Unit: `machine-qemu\x2d1\x2dwin11.scope`, Name: "qemu-1-win11"}},
		{"/docker/" + dockerID, Name{Kind: KindContainer, Runtime: RuntimeDocker, ID: dockerID, ShortID: "36219a26d503"}},
		{"/system.slice/docker-" + dockerID + ".scope", Name{Kind: KindContainer, Runtime: RuntimeDocker, ID: dockerID, ShortID: "36219a26d503"}},
		{"/docker/" + dockerID + "/inner", Name{}},
		{"/docker/36219a26d503", Name{}},
		{"/machine.slice/libpod-" + podmanID + ".scope", Name{Kind: KindContainer, Runtime: RuntimePodman, ID: podmanID, ShortID: podmanID[:12]}},
		{"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + podmanID + ".scope", Name{Kind: KindContainer, Runtime: RuntimePodman, ID: podmanID, ShortID: podmanID[:12]}},
		{"/libpod_parent/libpod-" + podmanID, Name{Kind: KindContainer, Runtime: RuntimePodman, ID: podmanID, ShortID: podmanID[:12]}},
		{"/machine.slice/libpod-conmon-" + podmanID + ".scope", Name{Kind: KindScope, Runtime: RuntimeSystemd, Unit: "libpod-conmon-" + podmanID + ".scope"}},
		{"/system.slice/crio-" + cid + ".scope", Name{Kind: KindContainer, Runtime: RuntimeCRIO, ID: cid, ShortID: cid[:12]}},
		{"/kubepods.slice", Name{Kind: KindSlice, Runtime: RuntimeSystemd, Unit: "kubepods.slice"}},
		{"/kubepods.slice/kubepods-burstable.slice", Name{Kind: KindSlice, Runtime: RuntimeSystemd, Unit: "kubepods-burstable.slice", QoS: "burstable"}},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidU + ".slice",
			Name{Kind: KindPod, Runtime: RuntimeSystemd, Unit: "kubepods-burstable-pod" + uidU + ".slice", PodUID: uid, QoS: "burstable"}},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidU + ".slice/cri-containerd-" + cid + ".scope",
			Name{Kind: KindContainer, Runtime: RuntimeContainerd, ID: cid, ShortID: cid[:12], Unit: "cri-containerd-" + cid + ".scope", PodUID: uid, QoS: "burstable"}},
		{"/kubepods.slice/kubepods-pod" + uidU + ".slice/crio-" + cid + ".scope",
			Name{Kind: KindContainer, Runtime: RuntimeCRIO, ID: cid, ShortID: cid[:12], Unit: "crio-" + cid + ".scope", PodUID: uid, QoS: "guaranteed"}},
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidU + ".slice",
			Name{Kind: KindPod, Runtime: RuntimeSystemd, Unit: "kubepods-besteffort-pod" + uidU + ".slice", PodUID: uid, QoS: "besteffort"}},
		{"/kubepods/burstable/pod" + uid + "/" + cid, Name{Kind: KindContainer, ID: cid, ShortID: cid[:12], PodUID: uid, QoS: "burstable"}},
		{"/kubepods/besteffort/pod" + uid, Name{Kind: KindPod, PodUID: uid, QoS: "besteffort"}},
		{"/kubepods/pod" + uid + "/" + cid, Name{Kind: KindContainer, ID: cid, ShortID: cid[:12], PodUID: uid, QoS: "guaranteed"}},
		{"/kubepods/burstable", Name{Kind: KindSlice, QoS: "burstable"}},
		{"/lxc.payload.web", Name{Kind: KindLXC, Runtime: RuntimeLXC, Name: "web"}},
		{"/lxc/db", Name{Kind: KindLXC, Runtime: RuntimeLXC, Name: "db"}},
		{"/ctop/busy", Name{Kind: KindSandbox, Runtime: RuntimeCtop, Name: "busy"}},
		{"/ctop/busy/child", Name{}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, Parse(tt.path)); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", tt.path, diff)
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		n    Name
		want string
	}{
		{Name{}, ""},
		{Parse("/docker/" + dockerID), "docker:36219a26d503"},
		{Name{Kind: KindContainer, Runtime: RuntimeDocker, ShortID: "36219a26d503", Name: "shop-web-1"}, "shop-web-1"},
		{Name{Kind: KindContainer, ShortID: "1f2e3d4c5b6a", Pod: "web", PodNamespace: "shop", Container: "nginx"}, "shop/web/nginx"},
		{Name{Kind: KindContainer, ShortID: "1f2e3d4c5b6a", Pod: "web", PodNamespace: "shop"}, "shop/web/1f2e3d4c5b6a"},
		{Name{Kind: KindPod, PodUID: "u"}, "pod:u"},
		{Parse("/system.slice/cron.service"), "cron.service"},
		{Parse(`/machine.slice/machine-qemu\x2d1.scope`), "qemu-1"},
		{Parse("/ctop/busy"), "busy"},
	}
	for _, tt := range tests {
		if got := tt.n.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestOwner(t *testing.T) {
	m := map[string]Name{
		"/system.slice": Parse("/system.slice"),
		"/system.slice/docker-" + dockerID + ".scope": Parse("/system.slice/docker-" + dockerID + ".scope"),
		"/system.slice/cron.service":                  Parse("/system.slice/cron.service"),
	}
	n, at := Owner("/system.slice/docker-"+dockerID+".scope/init.scope", m)
	if n.ID != dockerID || at != "/system.slice/docker-"+dockerID+".scope" {
		t.Errorf("Owner of a group inside a container = %+v at %q, want the container", n, at)
	}
	n, at = Owner("/system.slice/cron.service", m)
	if n.Unit != "cron.service" || at != "/system.slice/cron.service" {
		t.Errorf("Owner of a unit = %+v at %q, want the unit", n, at)
	}
	if n, at := Owner("/other/x", m); n.Known() || at != "" {
		t.Errorf("Owner of an unnamed path = %+v at %q, want none", n, at)
	}
	got := Ancestors([]string{"/a/b", "/a/c", "/"})
	if diff := cmp.Diff([]string{"/a/b", "/a", "/", "/a/c"}, got); diff != "" {
		t.Errorf("Ancestors (-want +got):\n%s", diff)
	}
}

// cleanPath is path.Clean of the absolute path, also for the paths it
// takes as clean without cleaning them.
func TestCleanPath(t *testing.T) {
	for _, p := range []string{"", "/", "//", "a", "/a", "a/b", "/a/b", "/a/b/", "/a//b", "/a/./b", "/a/../b", "/.", "/..",
		"/a/.", "/a/..", "/.a/b..", "/a/...", "/system.slice/docker-" + dockerID + ".scope", `/machine.slice/machine-a\x2db.scope`} {
		want := path.Clean("/" + p)
		if got := cleanPath(p); got != want {
			t.Errorf("cleanPath(%q) = %q, want %q", p, got, want)
		}
		if got := parent(want); got != path.Dir(want) {
			t.Errorf("parent(%q) = %q, want %q", want, got, path.Dir(want))
		}
	}
}

// FuzzParse checks that any path parses without a panic into a consistent
// name: a container's short id is its id's prefix, ids are 64 hex digits,
// a known name has a label, and the parse depends on the cleaned path only.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"/", "/docker/" + dockerID, "/system.slice/docker-" + dockerID + ".scope",
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podab_cd.slice/cri-containerd-" + dockerID + ".scope",
		"/kubepods/pod1/" + dockerID, `/machine.slice/machine-a\x2db.scope`, `/x/machine-\x.scope`, "/lxc.payload.", "/ctop/x",
		"/user.slice/user-.slice", "kubepods.slice/-pod.slice", "/a//b/../c/session-.scope"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		n := Parse(p)
		if n != Parse(path.Clean("/"+p)) {
			t.Fatalf("Parse(%q) differs from Parse of its cleaned path", p)
		}
		if c := cleanPath(p); c != path.Clean("/"+p) {
			t.Fatalf("cleanPath(%q) = %q, want %q", p, c, path.Clean("/"+p))
		}
		if n.ID != "" && (!isID(n.ID) || n.ShortID != n.ID[:12]) {
			t.Fatalf("Parse(%q): id %q, short id %q", p, n.ID, n.ShortID)
		}
		if n.Known() && n.String() == "" && n.Kind != KindSlice {
			t.Fatalf("Parse(%q) = %+v has no label", p, n)
		}
		if !n.Known() && n != (Name{}) {
			t.Fatalf("Parse(%q) = %+v: fields without a kind", p, n)
		}
		if strings.Contains(n.Name, "/") && n.Kind != KindContainer {
			t.Fatalf("Parse(%q) = %+v: a name with '/'", p, n)
		}
	})
}
