package images

import (
	"fmt"
	"image"
	"image/png"
	"io"

	"github.com/vkcnn/vkcnn/internal/atomicfile"
)

// SavePNG writes img to path as a PNG, atomically, so a viewer or a crash
// never sees half an image.
func SavePNG(path string, img image.Image) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		if err := png.Encode(w, img); err != nil {
			return fmt.Errorf("encode PNG: %w", err)
		}
		return nil
	})
}
