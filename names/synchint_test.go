package names

import (
	"strings"
	"testing"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/sandbox"
)

func TestSyncHint(t *testing.T) {
	mem, pids := cgroup.LimitOf(512<<20), cgroup.LimitOf(100)
	r := cgroup.Resources{MemoryMax: &mem, PidsMax: &pids, CPU: &cgroup.CPUMax{Quota: cgroup.LimitOf(50000)}}
	g := sandbox.Given{"memory": {"512m"}, "pids-limit": {"100"}, "cpus": {"0.5"}}
	for _, tc := range []struct {
		owner Name
		want  string
	}{
		{web(), "docker's own record of shop-web-1 still holds the old limits (a restart puts them back); to keep it in sync: docker update --cpus 0.5 --memory 512m --pids-limit 100 shop-web-1"},
		{Parse("/machine.slice/libpod-" + dockerID + ".scope"), "podman update --cpus 0.5 --memory 512m --pids-limit 100 36219a26d503"},
		{Parse("/system.slice/cron.service"), "systemctl set-property cron.service CPUQuota=50% MemoryMax=536870912 TasksMax=100"},
		{Parse("/kubepods/pod1/" + dockerID), "managed by the kubelet"},
		{Parse("/ctop/busy"), ""},
		{Name{}, ""},
	} {
		got := SyncHint(tc.owner, g, r)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) || strings.Contains(got, "\n") {
			t.Errorf("SyncHint(%v) = %q, want a line with %q", tc.owner, got, tc.want)
		}
	}
}

// TestSyncHintQuotes checks that what a shell would split or expand
// reaches systemctl and docker as one word.
func TestSyncHintQuotes(t *testing.T) {
	r := cgroup.Resources{IO: []cgroup.IOThrottle{{Kind: "rbps", Device: cgroup.Device{Major: 8, Minor: 0}, Rate: 1 << 20}}}
	got := SyncHint(Parse("/system.slice/cron.service"), nil, r)
	if want := "systemctl set-property cron.service 'IOReadBandwidthMax=/dev/block/8:0 1048576'"; !strings.HasSuffix(got, want) {
		t.Errorf("SyncHint = %q, want it to end %q", got, want)
	}
	got = SyncHint(web(), sandbox.Given{"memory": {"1g"}, "cpuset-cpus": {"0-1"}, "label": {"it's"}}, cgroup.Resources{})
	if !strings.Contains(got, `'it'\''s'`) {
		t.Errorf("SyncHint = %q, want the quote escaped for a shell", got)
	}
}
