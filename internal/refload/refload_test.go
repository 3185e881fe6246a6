package refload

import "testing"

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		ok   bool
	}{
		{"reference", Reference("/ctop-test-bench-1"), true},
		{"empty", Options{Parent: "/ctop-test-x"}, true},
		{"no prefix", Options{Groups: 1, Parent: "/bench"}, false},
		{"relative", Options{Groups: 1, Parent: "ctop-test-x"}, false},
		{"nested", Options{Groups: 1, Parent: "/ctop-test-x/y"}, false},
		{"unclean", Options{Groups: 1, Parent: "/ctop-test-x/"}, false},
		{"dot dot", Options{Groups: 1, Parent: "/ctop-test-x/../system.slice"}, false},
		{"procs without groups", Options{Procs: 1, Parent: "/ctop-test-x"}, false},
		{"more isolated than procs", Options{Groups: 1, Procs: 1, Isolated: 2, Parent: "/ctop-test-x"}, false},
		{"negative", Options{Groups: -1, Parent: "/ctop-test-x"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.validate()
			if (err == nil) != tc.ok {
				t.Errorf("validate(%+v) = %v, want ok %v", tc.o, err, tc.ok)
			}
		})
	}
}
