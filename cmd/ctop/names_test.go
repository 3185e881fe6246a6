package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/names"
	"github.com/ctop-dev/ctop/nsinfo"
)

const testID = "36219a26d5030d0b6f5e8d2b7e38c1d3a2f0c4e5b6a798011223344556677889"

func web() names.Name {
	n := names.Parse("/system.slice/docker-" + testID + ".scope")
	n.Name, n.Image = "shop-web-1", "nginx:1.27"
	return n
}

func TestTreeLabel(t *testing.T) {
	pod := names.Name{Kind: names.KindPod, PodNamespace: "shop", Pod: "web-7d9f", PodUID: "u"}
	ctr := names.Parse("/kubepods/pod1/" + testID)
	ctr.PodNamespace, ctr.Pod, ctr.Container = "shop", "web-7d9f", "nginx"
	for _, tc := range []struct {
		p    string
		n    names.Name
		want string
	}{
		{"/docker/" + testID, names.Parse("/docker/" + testID), "docker 36219a26d503"},
		{"/system.slice/docker-" + testID + ".scope", web(), "shop-web-1 (docker 36219a26d503)"},
		{"/kubepods/pod1", pod, "pod shop/web-7d9f"},
		{"/kubepods/pod1/" + testID, ctr, "nginx (container 36219a26d503)"},
		{"/system.slice/cron.service", names.Parse("/system.slice/cron.service"), ""},
		{"/ctop/busy", names.Parse("/ctop/busy"), ""},
		{`/machine.slice/machine-vm\x2d1.scope`, names.Parse(`/machine.slice/machine-vm\x2d1.scope`), "vm-1 (machine)"},
		{"/plain", names.Name{}, ""},
	} {
		if got := tc.n.Label(path.Base(tc.p)); got != tc.want {
			t.Errorf("Label of %s = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestWriteTreeNames(t *testing.T) {
	snap := &cgroup.Snapshot{}
	for _, p := range []string{"/", "/docker", "/docker/" + testID, "/system.slice", "/system.slice/cron.service"} {
		snap.Groups = append(snap.Groups, &cgroup.Group{Path: p})
	}
	nm := map[string]names.Name{"/docker/" + testID: web(), "/system.slice/cron.service": names.Parse("/system.slice/cron.service")}
	var b bytes.Buffer
	writeTree(&b, snap, nil, nm, false)
	out := b.String()
	for _, want := range []string{"├ docker\n", "│ └ shop-web-1 (docker 36219a26d503)\n", "  └ cron.service\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("tree lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, testID) {
		t.Errorf("tree shows the 64-digit id:\n%s", out)
	}
}

// TestPsNames checks the NAME column and that the hand-written --json
// carries the same name objects as encoding/json.
func TestPsNames(t *testing.T) {
	cg := func(p string) []nsinfo.CgroupEntry { return []nsinfo.CgroupEntry{{HierarchyID: 0, Path: p}} }
	procs := []nsinfo.Process{
		{PID: 1, Comm: "init", Cgroups: cg("/init.scope")},
		{PID: 40, Comm: "nginx", Cgroups: cg("/system.slice/docker-" + testID + ".scope")},
		{PID: 41, Comm: "sh", Cgroups: cg("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5f1c2a3b_4d5e_6f70_8192_a3b4c5d6e7f8.slice/cri-containerd-1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988.scope")},
		{PID: 42, Comm: "x", Cgroups: cg("/plain")},
	}
	own := procOwners("../../names/testdata/host", procs)
	var b bytes.Buffer
	if err := writePsTable(&b, nsinfo.Reference{}, procs, own); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	for i, want := range []string{"init.scope", "docker:36219a26d503", "shop/web-7d9f8b6c5-x2x9q/nginx", "-"} {
		f := strings.Fields(lines[2+i])
		if got := f[len(f)-2]; got != want {
			t.Errorf("pid %d NAME = %q, want %q (%q)", procs[i].PID, got, want, lines[2+i])
		}
	}
	var hand bytes.Buffer
	w := bufio.NewWriter(&hand)
	if err := writePsJSON(w, nsinfo.Reference{}, procs, own); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	wantBytes, _ := json.Marshal(psDoc(nsinfo.Reference{}, procs, own))
	var got, want any
	if err := json.Unmarshal(hand.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(wantBytes, &want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ps --json (-encoding/json +hand-written):\n%s", diff)
	}
	if !strings.Contains(hand.String(), `"name":{"kind":"container","runtime":"containerd"`) {
		t.Errorf("ps --json lacks the pod container's name object:\n%s", hand.String())
	}
}
