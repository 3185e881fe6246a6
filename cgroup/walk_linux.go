package cgroup

import (
	"bytes"
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// subdirs calls fn with the name of every subdirectory of dir. It reads the
// directory with getdents64 and keeps only entries typed DT_DIR: a cgroup
// directory holds some thirty files and a few groups, and a refresh walks
// hundreds of them, so it allocates nothing for the files (os.ReadDir makes
// a DirEntry for each). cgroupfs fills in d_type; where a filesystem does
// not (a fixture tree on some disks), the entry is looked up.
func subdirs(dir string, buf []byte, fn func(name string)) error {
	fd, err := openRetry(dir, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Getdents(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		for b := buf[:n]; len(b) > 0; {
			// struct linux_dirent64 { u64 ino; s64 off; u16 reclen; u8 type; char name[]; }
			reclen := int(*(*uint16)(unsafe.Pointer(&b[16])))
			if reclen <= 19 || reclen > len(b) {
				return nil
			}
			if typ := b[18]; typ == unix.DT_DIR || typ == unix.DT_UNKNOWN {
				name := b[19:reclen]
				if i := bytes.IndexByte(name, 0); i >= 0 {
					name = name[:i]
				}
				if s := string(name); s != "." && s != ".." && (typ == unix.DT_DIR || isDirAt(fd, s)) {
					fn(s)
				}
			}
			b = b[reclen:]
		}
	}
}

// isDirAt reports whether name in the directory fd is a directory.
func isDirAt(fd int, name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
}
