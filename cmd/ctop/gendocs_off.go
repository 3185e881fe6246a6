//go:build !gendocs

package main

import "github.com/spf13/cobra"

// addDocs adds nothing to the ctop that is installed: see gendocs.go.
func addDocs(*cobra.Command) {}
