// Package dirtest checks what a directory holds, for tests of code that must
// leave nothing half-written behind.
package dirtest

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"testing"
)

// Names lists the names in dir, sorted (none if dir does not exist).
func Names(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// Only fails t if dir holds anything but names, which is how a leftover
// temporary file shows.
func Only(t testing.TB, dir string, names ...string) {
	t.Helper()
	want := slices.Sorted(slices.Values(names))
	if got := Names(t, dir); !slices.Equal(got, want) {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
}
