package dataset

import (
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// writeJPEGFolder writes an image folder of nTrain + nTest small JPEGs
// (10 classes, sizes 28-48 pixels a side, gradients and noise so that they
// compress as photos do), in parallel.
func writeJPEGFolder(b testing.TB, root string, nTrain, nTest int) {
	type job struct {
		path string
		seed uint64
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				rng := rand.New(rand.NewPCG(j.seed, 1))
				w, h := 28+rng.IntN(21), 28+rng.IntN(21)
				img := image.NewRGBA(image.Rect(0, 0, w, h))
				base := [3]int{rng.IntN(256), rng.IntN(256), rng.IntN(256)}
				for y := range h {
					for x := range w {
						img.Set(x, y, color.RGBA{byte(base[0] + 3*x + rng.IntN(20)), byte(base[1] + 3*y + rng.IntN(20)), byte(base[2] + x*y/8), 255})
					}
				}
				if err := os.WriteFile(j.path, jpegBytes(b, img), 0o644); err != nil {
					panic(err)
				}
			}
		}()
	}
	for split, n := range map[string]int{"train": nTrain, "test": nTest} {
		for c := range 10 {
			if err := os.MkdirAll(filepath.Join(root, split, fmt.Sprintf("class%d", c)), 0o755); err != nil {
				b.Fatal(err)
			}
		}
		for i := range n {
			jobs <- job{filepath.Join(root, split, fmt.Sprintf("class%d", i%10), fmt.Sprintf("%05d.jpg", i)), uint64(i)<<1 | uint64(len(split)&1)}
		}
	}
	close(jobs)
	wg.Wait()
}

// BenchmarkImageFolder converts a folder of 50,000 small JPEGs (and 1,000
// test images) to 32x32 records: the first conversion, and a load from the
// cache. Not part of the default run; run it with
//
//	go test -run '^$' -bench ImageFolder -benchtime 1x ./dataset
//
// (target on 2 cores: under a minute to convert, under a second cached).
func BenchmarkImageFolder(b *testing.B) {
	const nTrain, nTest = 50000, 1000
	root := filepath.Join(b.TempDir(), "jpegs")
	start := time.Now()
	writeJPEGFolder(b, root, nTrain, nTest)
	b.Logf("wrote %d JPEGs in %v (GOMAXPROCS %d)", nTrain+nTest, time.Since(start).Round(time.Millisecond), runtime.GOMAXPROCS(0))
	load := func(b *testing.B, cache string) {
		d, err := Load(Options{Source: root, CacheDir: cache})
		if err != nil {
			b.Fatal(err)
		}
		if d.Train.N != nTrain || d.Test.N != nTest {
			b.Fatalf("%d/%d images", d.Train.N, d.Test.N)
		}
	}
	b.Run("convert", func(b *testing.B) {
		for range b.N {
			cache := b.TempDir()
			load(b, cache)
		}
		b.ReportMetric(float64(b.N*(nTrain+nTest))/b.Elapsed().Seconds(), "images/s")
	})
	b.Run("cached", func(b *testing.B) {
		cache := b.TempDir()
		load(b, cache)
		b.ResetTimer()
		for range b.N {
			load(b, cache)
		}
		b.ReportMetric(float64(b.N*(nTrain+nTest))/b.Elapsed().Seconds(), "images/s")
	})
}
