package cifar10

import (
	"github.com/vkcnn/vkcnn/internal/terminal"

	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress reports a download's progress as bytes are written to it.
type progress interface {
	io.Writer
	// finish ends the report: n bytes arrived; err is why it stopped early.
	finish(n int64, err error)
}

// isTerminal reports whether w is a terminal (a variable so tests can force
// the progress bar).
var isTerminal = terminal.Is

// lineInterval is how often plain progress lines are printed.
var lineInterval = 5 * time.Second

// newProgress returns a progress bar on a terminal w, plain lines on any
// other w, nothing for a nil w. name labels the bar; total is the expected
// size, -1 if unknown.
func newProgress(w io.Writer, url, name string, total int64) progress {
	switch {
	case w == nil:
		return silent{}
	case isTerminal(w):
		fmt.Fprintf(w, "downloading %s\n", url)
		max := total
		if max <= 0 {
			max = -1
		}
		bar := progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(name),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowTotalBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
		return &barProgress{bar: bar, w: w}
	default:
		p := &lineProgress{w: w, total: total, start: time.Now()}
		p.last = p.start
		fmt.Fprintf(w, "downloading %s (%s)\n", url, p.of())
		return p
	}
}

type silent struct{}

func (silent) Write(b []byte) (int, error) { return len(b), nil }
func (silent) finish(int64, error)         {}

// barProgress drives a progressbar; its errors (such as more bytes than
// announced) never stop the download.
type barProgress struct {
	bar *progressbar.ProgressBar
	w   io.Writer
}

func (p *barProgress) Write(b []byte) (int, error) {
	_ = p.bar.Add(len(b))
	return len(b), nil
}

func (p *barProgress) finish(n int64, err error) {
	if err == nil {
		_ = p.bar.Finish()
		if !p.bar.IsFinished() {
			_ = p.bar.Exit()
		}
		return
	}
	_ = p.bar.Exit()
	fmt.Fprintf(p.w, "download failed after %s\n", mb(n))
}

// lineProgress prints a line every lineInterval.
type lineProgress struct {
	w           io.Writer
	total, n    int64
	start, last time.Time
}

func (p *lineProgress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if now := time.Now(); now.Sub(p.last) >= lineInterval {
		p.last = now
		if p.total > 0 {
			fmt.Fprintf(p.w, "  %s of %s (%d%%), %s/s\n", mb(p.n), mb(p.total), p.n*100/p.total, mb(int64(float64(p.n)/now.Sub(p.start).Seconds())))
		} else {
			fmt.Fprintf(p.w, "  %s, %s/s\n", mb(p.n), mb(int64(float64(p.n)/now.Sub(p.start).Seconds())))
		}
	}
	return len(b), nil
}

func (p *lineProgress) finish(n int64, err error) {
	d := time.Since(p.start).Round(100 * time.Millisecond)
	if err != nil {
		fmt.Fprintf(p.w, "download failed after %s in %v\n", mb(n), d)
		return
	}
	fmt.Fprintf(p.w, "downloaded %s in %v\n", mb(n), d)
}

func (p *lineProgress) of() string {
	if p.total < 0 {
		return "size unknown"
	}
	return mb(p.total)
}

// mb formats a byte count for people.
func mb(n int64) string {
	if n < 1000000 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
