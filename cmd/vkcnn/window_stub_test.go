//go:build !window

package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestWindowNeedsTag: a default build refuses --window at once, in one line
// that says how to get a build with it.
func TestWindowNeedsTag(t *testing.T) {
	out, code := vkcnn(t, "train", "--window", "--data", filepath.Join(t.TempDir(), "none.tar.gz"), "--out", t.TempDir())
	msg := strings.TrimSpace(out)
	if code == 0 || strings.Count(msg, "\n") > 0 || !strings.Contains(msg, "go build -tags window ./cmd/vkcnn") || !strings.Contains(msg, "apt-get install libx11-dev") {
		t.Fatalf("exit %d, want one line of advice:\n%s", code, out)
	}
}
