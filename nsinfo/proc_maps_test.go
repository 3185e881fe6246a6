package nsinfo

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadOnlyFileMappings(t *testing.T) {
	maps := `00400000-00bde000 r-xp 00000000 fe:00 1234                               /usr/bin/ctop
00bde000-014af000 r--p 007de000 fe:00 1234                               /usr/bin/ctop
014af000-0150c000 rw-p 010af000 fe:00 1234                               /usr/bin/ctop
0150c000-01550000 rw-p 00000000 00:00 0
c000000000-c000400000 rw-p 00000000 00:00 0
7f0000000000-7f0000001000 r--p 00000000 fe:00 999                        /usr/lib/other
7f0000001000-7f0000002000 r--p 00000000 fe:01 1234                       /mnt/same-inode
7ffd1000-7ffd3000 r-xp 00000000 00:00 0                                  [vdso]
`
	got, err := readOnlyFileMappings(strings.NewReader(maps), "fe:00", 1234)
	if err != nil {
		t.Fatal(err)
	}
	want := []mapping{
		{start: 0x400000, end: 0xbde000, perms: "r-xp", dev: "fe:00", ino: 1234},
		{start: 0xbde000, end: 0x14af000, perms: "r--p", dev: "fe:00", ino: 1234},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(mapping{})); diff != "" {
		t.Errorf("mappings (-want +got):\n%s", diff)
	}
	if _, err := readOnlyFileMappings(strings.NewReader("zz-00 r-xp 0 fe:00 1\n"), "fe:00", 1); !errors.Is(err, ErrParse) {
		t.Errorf("bad line: err %v, want ErrParse", err)
	}
}
