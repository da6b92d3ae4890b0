package terminal

import (
	"bytes"
	"io"
	"os"
	"testing"
)

func TestIs(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, w := range map[string]io.Writer{"buffer": &bytes.Buffer{}, "regular file": f} {
		if Is(w) {
			t.Errorf("%s taken for a terminal", name)
		}
	}
}
