package sandbox

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// sealedExe returns a sealed in-memory copy of ctop's binary, for ctop
// exec to execute (as /proc/self/fd/N) in its stead. ctop exec's child
// runs in the sandbox's pid namespace before it executes the command, so
// a process of the sandbox can reach its /proc/PID/exe; were that ctop's
// own binary, root in the sandbox could rewrite the host's ctop through it
// (runc's CVE-2019-5736, as a command replaced by "#!/proc/self/exe"
// does). The copy is sealed against writes, growth and shrinking, and the
// seals themselves are sealed, as runc's memfd clone is (memfd_create(2),
// fcntl(2) F_ADD_SEALS). The caller closes it; close-on-exec, it is gone
// with the command's execve.
func sealedExe() (*os.File, error) {
	fd, err := unix.MemfdCreate("ctop", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("copy ctop's binary: memfd_create: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "memfd:ctop")
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		mem.Close()
		return nil, fmt.Errorf("copy ctop's binary: %w", err)
	}
	defer exe.Close()
	// io.Copy between files takes copy_file_range, else sendfile.
	if _, err := io.Copy(mem, exe); err != nil {
		mem.Close()
		return nil, fmt.Errorf("copy ctop's binary: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		mem.Close()
		return nil, fmt.Errorf("copy ctop's binary: seal: %w", err)
	}
	return mem, nil
}
