// Package selftest holds the canary tests of the pure cgroup v2 test VM
// (make test-v2): they prove that the kernel the VM boots really is pure v2,
// that the root's controllers are enabled as on a systemd host, that a test
// can create a cgroup, set a limit and move a process into it, and that the
// scratch disk supports io.max. On any other host they check what applies
// and skip the rest with a reason.
//
// CTOP_VM_SELFTEST_FAIL=1 makes TestDeliberateFailure fail, to prove that a
// failing test fails make test-v2.
package selftest
