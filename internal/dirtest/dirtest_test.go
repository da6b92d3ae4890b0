package dirtest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestNames(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b", "a", "c"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := Names(t, dir); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("Names = %q", got)
	}
	if got := Names(t, filepath.Join(dir, "missing")); got != nil {
		t.Errorf("Names of a missing directory = %q", got)
	}
	Only(t, dir, "c", "a", "b")
	var fake testing.T
	Only(&fake, dir, "a", "b") // c is a leftover
	if !fake.Failed() {
		t.Error("Only passed a directory with an extra file")
	}
}
