package metrics

import (
	"bytes"
	"fmt"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/names"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// compareSeries is testutil.CollectAndCompare with the empty labels of c's
// series dropped, as Prometheus drops them on ingestion (an empty label is
// an absent one), so expectations list only the labels that are set, in
// any order. The pedantic registry also checks that every family's labels
// are consistent.
func compareSeries(c prometheus.Collector, want io.Reader, metricNames ...string) error {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		return err
	}
	got, err := reg.Gather()
	if err != nil {
		return err
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	wantFams, err := p.TextToMetricFamilies(want)
	if err != nil {
		return err
	}
	if diff := cmp.Diff(seriesText(slices.Collect(maps.Values(wantFams)), metricNames), seriesText(got, metricNames)); diff != "" {
		return fmt.Errorf("series (-want +got):\n%s", diff)
	}
	return nil
}

// seriesText is the text format of the families named, empty labels
// dropped, labels and series sorted.
func seriesText(fams []*dto.MetricFamily, metricNames []string) string {
	slices.SortFunc(fams, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	var out bytes.Buffer
	for _, mf := range fams {
		if !slices.Contains(metricNames, mf.GetName()) {
			continue
		}
		for _, m := range mf.Metric {
			m.Label = slices.DeleteFunc(m.Label, func(l *dto.LabelPair) bool { return l.GetValue() == "" })
			slices.SortFunc(m.Label, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
		}
		slices.SortFunc(mf.Metric, byLabels)
		if _, err := expfmt.MetricFamilyToText(&out, mf); err != nil {
			fmt.Fprintf(&out, "encode %s: %v\n", mf.GetName(), err)
		}
	}
	return out.String()
}

// byLabels orders series by their (sorted) labels.
func byLabels(a, b *dto.Metric) int {
	key := func(m *dto.Metric) string {
		var k strings.Builder
		for _, l := range m.Label {
			k.WriteString(l.GetName() + "=" + l.GetValue() + "\x00")
		}
		return k.String()
	}
	return strings.Compare(key(a), key(b))
}

// fakeNames is a names source that records what it was asked.
type fakeNames struct {
	m     map[string]names.Name
	calls [][]string
}

func (f *fakeNames) names(paths []string) map[string]names.Name {
	f.calls = append(f.calls, slices.Clone(paths))
	out := map[string]names.Name{}
	for _, p := range paths {
		if n, ok := f.m[p]; ok {
			out[p] = n
		}
	}
	return out
}

// TestCollectNameLabels: a container's series carry its name, image and
// runtime; a pod's container its pod, namespace and container; a unit its
// unit; a group nothing is known about only its id.
func TestCollectNameLabels(t *testing.T) {
	snap := handBuilt()
	snap.Groups = append(snap.Groups,
		&cgroup.Group{Path: "/kubepods/podu/c1", Stats: cgroup.Stats{Memory: cgroup.MemoryStats{Current: cgroup.Known(3)}}},
		&cgroup.Group{Path: "/system.slice/cron.service", Stats: cgroup.Stats{Memory: cgroup.MemoryStats{Current: cgroup.Known(4)}}},
	)
	fake := &fakeNames{m: map[string]names.Name{
		"/ctop/web": {Kind: names.KindContainer, Runtime: names.RuntimeDocker, ID: "36219a26d503ff", ShortID: "36219a26d503", Name: "shop-web-1", Image: "nginx:1.27"},
		"/kubepods/podu/c1": {Kind: names.KindContainer, Runtime: names.RuntimeContainerd, Pod: "web-0", PodNamespace: "shop",
			Container: "nginx", Image: "nginx:1.27"},
		"/system.slice/cron.service": {Kind: names.KindUnit, Runtime: names.RuntimeSystemd, Unit: "cron.service"},
	}}
	c := New(Options{Scan: fixed(snap, nil), Names: fake.names})
	want := `
# HELP ctop_cgroup_memory_usage_bytes Memory in use, page cache included (memory.current, v1 memory.usage_in_bytes).
# TYPE ctop_cgroup_memory_usage_bytes gauge
ctop_cgroup_memory_usage_bytes{id="/ctop/legacy"} 8192
ctop_cgroup_memory_usage_bytes{id="/ctop/web",name="shop-web-1",image="nginx:1.27",runtime="docker"} 1.048576e+06
ctop_cgroup_memory_usage_bytes{id="/kubepods/podu/c1",name="shop/web-0/nginx",image="nginx:1.27",runtime="containerd",pod="web-0",namespace="shop",container="nginx"} 3
ctop_cgroup_memory_usage_bytes{id="/system.slice/cron.service",name="cron.service",runtime="systemd",unit="cron.service"} 4
`
	if err := compareSeries(c, strings.NewReader(want), "ctop_cgroup_memory_usage_bytes"); err != nil {
		t.Error(err)
	}
	// A series with a label of its own (device) carries the names too.
	want = `
# HELP ctop_cgroup_fs_writes_total Write operations on the block device (io.stat wios, v1 blkio.throttle.io_serviced Write).
# TYPE ctop_cgroup_fs_writes_total counter
ctop_cgroup_fs_writes_total{id="/ctop/web",name="shop-web-1",image="nginx:1.27",runtime="docker",device="254:0"} 512
`
	if err := compareSeries(c, strings.NewReader(want), "ctop_cgroup_fs_writes_total"); err != nil {
		t.Error(err)
	}
}

// TestCollectNamesAskedOncePerReadingForExportedGroups: the names source
// is asked about the groups within --cgroup-depth only, once per reading
// (scrapes within MaxAge reuse it).
func TestCollectNamesAskedOncePerReadingForExportedGroups(t *testing.T) {
	fake := &fakeNames{m: map[string]names.Name{
		"/ctop": {Kind: names.KindSlice, Runtime: names.RuntimeSystemd, Unit: "ctop.slice"},
	}}
	clk := &clock{t: time.Unix(1e9, 0)}
	c := New(Options{Scan: fixed(handBuilt(), nil), Names: fake.names, Depth: 1, MaxAge: time.Minute, Now: clk.now})
	want := `
# HELP ctop_cgroup_info A group ctop reads (value 1); controllers lists those whose files it has, merged across v1 hierarchies.
# TYPE ctop_cgroup_info gauge
ctop_cgroup_info{id="/",controllers="cpu"} 1
ctop_cgroup_info{id="/ctop",name="ctop.slice",runtime="systemd",unit="ctop.slice"} 1
`
	for range 2 {
		if err := compareSeries(c, strings.NewReader(want), "ctop_cgroup_info"); err != nil {
			t.Error(err)
		}
	}
	if len(fake.calls) != 1 || !slices.Equal(fake.calls[0], []string{"/", "/ctop"}) {
		t.Errorf("names asked %v, want once about [/ /ctop] (depth 1, one reading)", fake.calls)
	}
}

// TestGroupLabelsAllowList: the label names of a cgroup series are the
// documented allow-list and nothing else.
func TestGroupLabelsAllowList(t *testing.T) {
	want := []string{"id", "name", "image", "runtime", "pod", "namespace", "container", "unit"}
	if got := groupLabels(); !slices.Equal(got, want) {
		t.Errorf("group labels %v, want %v (and README.md's allow-list to match)", got, want)
	}
}
