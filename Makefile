# ctop's build and test entry points. `make test` is what CI runs (.ci/run):
# the host's tests (cgroup v1 hybrid on CI; root integration tests included
# when run as root), then the same root integration tests inside a pure
# cgroup v2 kernel booted under qemu (test/vm/README.md), then again on a
# Debian 12 host with systemd, docker and a user manager under qemu
# (test/systemd/README.md).

SHELL := /bin/bash
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)

# Debian packages the test suites need; others can extend EXTRA_DEBS.
#   tmux: terminal end-to-end tests; prometheus: the metrics end-to-end test;
#   busybox-static, qemu-system-x86, cpio, e2fsprogs, kmod, xz-utils: the VM;
#   util-linux: lsns, unshare, nsenter (host tests, and shipped into the VM);
#   bubblewrap: bench/startlatency's yardstick for ctop run's start;
#   mmdebstrap: the systemd VM's root filesystem, from Debian's packages.
DEBS := tmux busybox-static qemu-system-x86 cpio util-linux e2fsprogs kmod xz-utils prometheus bubblewrap mmdebstrap $(EXTRA_DEBS)

# Settings of test/vm/run.sh, e.g. make test-v2 VM_TIMEOUT=600 CTOP_VM_RUN=TestLive
export GO VM_TIMEOUT VM_PKGS VM_KERNEL_PKG VM_MODULES VM_TOOLS VM_MEM VM_CPUS VM_DISK_SIZE VM_APPEND VM_ACCEL VM_CACHE
# and of test/systemd/run.sh (it reads VM_TIMEOUT, VM_PKGS, VM_KERNEL_PKG,
# VM_MEM, VM_CPUS, VM_APPEND, VM_ACCEL and VM_CACHE too).
export VM_KVM_BOOT_LIMIT SYSTEMD_VM_DEBS SYSTEMD_VM_MIRROR

# Where make install puts things; DESTDIR stages a package's tree.
PREFIX ?= /usr/local
DESTDIR ?=
# BUILDDIR holds what make man and make completions write.
BUILDDIR ?= build

.PHONY: all build man completions install deps test test-host test-v2 test-systemd vm-clean

all: build

# A static binary (no cgo): every sandbox start runs it again as the
# sandbox's init, and the dynamic loader alone costs a start about 2 ms.
build:
	CGO_ENABLED=0 $(GO) build -o ctop ./cmd/ctop

# man writes a page per command (ctop.1, ctop-run.1, ...) from the command
# tree, by a ctop built with the gendocs tag (see cmd/ctop/gendocs.go).
man:
	rm -rf $(BUILDDIR)/man
	CGO_ENABLED=0 $(GO) run -tags gendocs ./cmd/ctop __gen-docs $(BUILDDIR)/man

# completions are cobra's scripts; they ask ctop itself for sandbox names,
# cgroup paths and the like on every TAB.
completions: build
	mkdir -p $(BUILDDIR)/completions
	./ctop completion bash >$(BUILDDIR)/completions/ctop
	./ctop completion zsh >$(BUILDDIR)/completions/_ctop
	./ctop completion fish >$(BUILDDIR)/completions/ctop.fish

install: build man completions
	install -D -m 0755 ctop $(DESTDIR)$(PREFIX)/bin/ctop
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 $(BUILDDIR)/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -D -m 0644 $(BUILDDIR)/completions/ctop $(DESTDIR)$(PREFIX)/share/bash-completion/completions/ctop
	install -D -m 0644 $(BUILDDIR)/completions/_ctop $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_ctop
	install -D -m 0644 $(BUILDDIR)/completions/ctop.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/ctop.fish

# deps installs the missing Debian packages; apt-get runs only when one is
# missing, and only as root (otherwise it says what to install).
deps:
	@missing=; for p in $(DEBS); do \
		dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "deps: missing Debian packages:$$missing (run make deps as root); tests that need them skip or fail" >&2; exit 0; \
	fi; \
	echo "deps: installing$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	log=$$(mktemp); \
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; } >"$$log" 2>&1 || \
		{ cat "$$log" >&2; rm -f "$$log"; echo "deps: apt-get install$$missing failed" >&2; exit 1; }; \
	rm -f "$$log"

# test runs the three layouts and fails if any failed; all always run, so
# one log shows the v1-hybrid host, the pure v2 VM and the systemd VM side
# by side.
test: deps
	@host=0; v2=0; sd=0; \
	$(MAKE) --no-print-directory test-host || host=$$?; \
	$(MAKE) --no-print-directory test-v2 || v2=$$?; \
	$(MAKE) --no-print-directory test-systemd || sd=$$?; \
	word() { [ "$$1" = 0 ] && echo ok || echo failed; }; \
	if [ $$host != 0 ] || [ $$v2 != 0 ] || [ $$sd != 0 ]; then \
		echo "test: FAIL (host tests: $$(word $$host), pure cgroup v2 VM: $$(word $$v2), systemd VM: $$(word $$sd))" >&2; exit 1; \
	fi; \
	echo "test: ok (host, pure cgroup v2 VM and systemd VM)"

# The patched bubbletea is a module of its own (third_party/README.md):
# its tests, the renderer's among them, run from its directory.
# -p 1: the root tests measure the kernel (a busy loop held at its CPU
# quota, IO at its rate); run one package at a time so they are not
# starved by others' builds and tests on a small CI machine.
test-host:
	$(GO) test -count=1 -p 1 ./...
	cd third_party/bubbletea && $(GO) test -count=1 .

# test-v2 runs the root integration tests in a pure cgroup v2 kernel.
test-v2: deps
	test/vm/run.sh

# test-systemd runs them on Debian 12 with systemd as PID 1, docker and a
# user manager, on pure cgroup v2 (test/systemd/README.md).
test-systemd: deps
	test/systemd/run.sh

vm-clean:
	rm -rf .vm-cache
