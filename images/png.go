package images

import (
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
)

// SavePNG writes img to path as a PNG, atomically: through a temporary file
// in the same directory, synced and renamed into place, so a viewer or a
// crash never sees half an image. The temporary file is removed on error.
func SavePNG(path string, img image.Image) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("create a temporary file beside %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close() // may already be closed; the first error is the one to report
			_ = os.Remove(tmp)
		}
	}()
	if err = png.Encode(f, img); err != nil {
		return fmt.Errorf("encode PNG %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; a picture is meant to be looked at.
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("set permissions of %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}
