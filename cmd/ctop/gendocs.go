//go:build gendocs

package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// addDocs gives a ctop built with -tags gendocs (make man) the hidden
// command that writes the man pages from the command tree. The ctop that
// is installed is built without it: cobra/doc's markdown library compiles
// regular expressions at start, which every command would pay for.
func addDocs(root *cobra.Command) {
	root.AddCommand(&cobra.Command{
		Use:    "__gen-docs DIR",
		Short:  "Write ctop's man pages (section 1) into DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			root.DisableAutoGenTag = true // no date line that changes every build
			h := &doc.GenManHeader{Title: "CTOP", Section: "1", Source: "ctop " + root.Version, Manual: "ctop manual"}
			if err := doc.GenManTree(root, h, args[0]); err != nil {
				return fmt.Errorf("man pages in %s: %w", args[0], err)
			}
			return nil
		},
	})
}
