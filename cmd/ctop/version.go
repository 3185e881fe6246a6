package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionText is what ctop --version and ctop version print after "ctop
// version ": the main module's version, the commit it was built from
// (with "(modified)" for a dirty tree) when the build recorded it, and
// the Go release, as `go version -m` reads them from the binary.
func versionText(bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return "(unknown) " + runtime.Version()
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev != "" {
		v += " commit " + rev[:min(7, len(rev))]
		if modified {
			v += " (modified)"
		}
	}
	return v + " " + bi.GoVersion
}

// addVersion gives root --version and a version command, as docker has
// both.
func addVersion(root *cobra.Command) {
	root.Version = versionText(debug.ReadBuildInfo())
	root.SetVersionTemplate("ctop version {{.Version}}\n")
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print ctop's version, commit and Go release",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(c.OutOrStdout(), "ctop version %s\n", root.Version)
			return err
		},
	})
}
