package shaders

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSPIRVMatchesSource recompiles every shader and compares it with the
// committed module, so a .comp edited without running tools/glslc.sh fails.
func TestSPIRVMatchesSource(t *testing.T) {
	if _, err := exec.LookPath("glslc"); err != nil {
		t.Skip("glslc not installed (apt-get install glslc): cannot check the committed SPIR-V against its source")
	}
	out := t.TempDir()
	cmd := exec.Command("../tools/glslc.sh", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tools/glslc.sh: %v\n%s", err, msg)
	}
	sources, _ := filepath.Glob("*.comp")
	if len(sources) == 0 {
		t.Fatal("no shaders found")
	}
	for _, src := range sources {
		name := strings.TrimSuffix(src, ".comp")
		want, err := os.ReadFile(filepath.Join(out, name+".spv"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := SPIRV(name)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("shaders/%s.spv is not what glslc makes from %s: run tools/glslc.sh", name, src)
		}
	}
}

func TestSPIRVUnknown(t *testing.T) {
	if _, err := SPIRV("no-such-shader"); err == nil {
		t.Fatal("SPIRV of an unknown name returned no error")
	}
}
