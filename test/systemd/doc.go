// Package systemd holds the environment self-test of the systemd test VM
// (make test-systemd, test/systemd/README.md): it asserts, against sources
// independent of each other, that the host is what the harness claims: PID 1
// is systemd on pure cgroup v2, the system is up, docker's container and a
// systemd service carry the limits their managers report in the kernel's
// files, a lingering user's manager runs with memory and pids delegated, and
// a Kubernetes-style pod scope and its log directory exist. names_test.go
// then runs ctop itself there and checks each name it gives (cgroups, ps,
// ns, inspect, update, net, the TUI, serve and the Grafana dashboard)
// against docker inspect, systemctl show, the kernel's files and ip.
//
// The tests run only where CTOP_TEST_SYSTEMD=1 (the VM's test runner sets
// it) and skip elsewhere; the parsers they use are tested everywhere.
// CTOP_VM_SELFTEST_FAIL=1 makes TestDeliberateFailure fail, to prove that a
// failing test fails make test-systemd.
package systemd
