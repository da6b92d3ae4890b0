// Package xvfb starts a virtual X server for tests of windows and takes
// screenshots of it, with nothing installed but Xvfb: the server keeps its
// screen in an XWD file (-fbdir), which Screenshot reads.
package xvfb

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math/bits"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Server is a running Xvfb.
type Server struct {
	// Display is the DISPLAY value of the server, e.g. ":5".
	Display string
	cmd     *exec.Cmd
	fb      string
}

// ErrNoXvfb means the Xvfb binary is not installed.
var ErrNoXvfb = errors.New("Xvfb is not installed (apt-get install xvfb)")

// Start starts Xvfb with one screen of width x height at 24 bits, on a free
// display number (the server picks it), and waits until it accepts clients.
func Start(width, height int) (*Server, error) {
	bin, err := exec.LookPath("Xvfb")
	if err != nil {
		return nil, ErrNoXvfb
	}
	dir, err := os.MkdirTemp("", "vkcnn-xvfb")
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// -displayfd writes the display number once the server is ready.
	cmd := exec.Command(bin, "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", width, height),
		"-fbdir", dir, "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting Xvfb: %w", err)
	}
	w.Close()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
		r.Close()
	}()
	s := &Server{cmd: cmd, fb: filepath.Join(dir, "Xvfb_screen0")}
	select {
	case n := <-line:
		if n == "" {
			s.Stop()
			return nil, fmt.Errorf("Xvfb did not start: %s", stderr.String())
		}
		s.Display = ":" + n
	case <-time.After(30 * time.Second):
		s.Stop()
		return nil, fmt.Errorf("Xvfb did not start within 30 s: %s", stderr.String())
	}
	return s, nil
}

// Stop ends the server and removes its screen file.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
	os.RemoveAll(filepath.Dir(s.fb))
}

// Screenshot is the whole screen as it is now.
func (s *Server) Screenshot() (*image.RGBA, error) {
	data, err := os.ReadFile(s.fb)
	if err != nil {
		return nil, err
	}
	return decodeXWD(data)
}

// decodeXWD reads a 24- or 32-bit TrueColor ZPixmap XWD file, as Xvfb
// keeps its screen.
func decodeXWD(data []byte) (*image.RGBA, error) {
	if len(data) < 100 {
		return nil, fmt.Errorf("XWD file of %d bytes", len(data))
	}
	// The header is 25 big-endian words (X11's XWDFileHeader), but a server
	// may write it in its own byte order: the version (7) tells.
	var order binary.ByteOrder = binary.BigEndian
	if order.Uint32(data[4:]) != 7 {
		order = binary.LittleEndian
	}
	h := make([]uint32, 25)
	for i := range h {
		h[i] = order.Uint32(data[4*i:])
	}
	headerSize, version, format, width, height := h[0], h[1], h[2], int(h[4]), int(h[5])
	byteOrder, bpp, bpl := h[7], int(h[11]), int(h[12])
	masks := [3]uint32{h[14], h[15], h[16]}
	ncolors := h[19]
	if version != 7 || format != 2 || (bpp != 32 && bpp != 24) {
		return nil, fmt.Errorf("XWD version %d, format %d, %d bits per pixel: want 7, ZPixmap (2), 24 or 32", version, format, bpp)
	}
	start := int(headerSize) + 12*int(ncolors)
	if start+bpl*height > len(data) {
		return nil, fmt.Errorf("XWD file of %d bytes is shorter than its %dx%d image", len(data), width, height)
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for y := range height {
		row := data[start+y*bpl:]
		for x := range width {
			var p uint32
			px := row[x*bpp/8:]
			if byteOrder == 0 { // LSBFirst
				p = uint32(px[0]) | uint32(px[1])<<8 | uint32(px[2])<<16
				if bpp == 32 {
					p |= uint32(px[3]) << 24
				}
			} else {
				p = uint32(px[0])<<16 | uint32(px[1])<<8 | uint32(px[2])
				if bpp == 32 {
					p = p<<8 | uint32(px[3])
				}
			}
			var c [3]uint8
			for i, m := range masks {
				c[i] = uint8((p & m) >> bits.TrailingZeros32(m))
			}
			img.SetRGBA(x, y, color.RGBA{c[0], c[1], c[2], 255})
		}
	}
	return img, nil
}
