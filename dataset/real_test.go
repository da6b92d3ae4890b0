package dataset

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vkcnn/vkcnn/cifar10"
)

// realCIFAR10 returns the offline copy of the real CIFAR-10 archive (see
// ../shared/data/cifar10/README.md beside the repository), or skips.
func realCIFAR10(t *testing.T) string {
	t.Helper()
	for _, p := range []string{filepath.Join("..", "..", "shared", "data", "cifar10", cifar10.ArchiveName), "/work/shared/data/cifar10/" + cifar10.ArchiveName} {
		if _, err := os.Stat(p); err == nil {
			if testing.Short() {
				t.Skip("-short: skipping the 170 MB real archive")
			}
			return p
		}
	}
	t.Skip("the real CIFAR-10 archive (../shared/data/cifar10) is not here; skipping")
	return ""
}

// TestRealCIFAR10Python converts the real CIFAR-10 binary archive to
// torchvision's Python layout (pickles as Python 2 wrote the official ones)
// and checks that both layouts load to identical records, labels and class
// names.
func TestRealCIFAR10Python(t *testing.T) {
	archive := realCIFAR10(t)
	start := time.Now()
	bin, err := Load(Options{Source: archive, Warn: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("binary archive loaded in %v", time.Since(start))
	c, ok := bin.CIFAR10()
	if !ok {
		t.Fatal("the real archive is not in CIFAR-10's layout")
	}
	root := t.TempDir()
	writeCIFAR10Py(t, filepath.Join(root, "cifar-10-batches-py"), c, pickleStyles[0])
	start = time.Now()
	py, err := Load(Options{Source: root})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Python layout loaded in %v", time.Since(start))
	checkCIFAR10(t, py, c)
	if py.Train.N != cifar10.TrainRecords || py.Test.N != cifar10.TestRecords {
		t.Errorf("%d/%d records", py.Train.N, py.Test.N)
	}
	if l := py.Train.Label(0); l != 6 || py.Train.Image(0)[0] != 59 {
		t.Errorf("first training record: label %d, first pixel %d; want the frog (6) starting 59", l, py.Train.Image(0)[0])
	}
}
