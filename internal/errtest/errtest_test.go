package errtest

import (
	"errors"
	"runtime"
	"testing"
)

// recorder is a testing.TB that notes failures; Fatalf ends only the
// goroutine it runs in, as testing's does.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()                   {}
func (r *recorder) Logf(string, ...any)       {}
func (r *recorder) Errorf(string, ...any)     { r.failed = true }
func (r *recorder) Fatalf(f string, a ...any) { r.failed = true; runtime.Goexit() }

func TestWant(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		subs []string
		fail bool
	}{
		{"one line with the words", errors.New("data.bin: not a CIFAR batch"), []string{"data.bin", "CIFAR"}, false},
		{"no error", nil, nil, true},
		{"two lines", errors.New("data.bin:\nnot a CIFAR batch"), []string{"data.bin"}, true},
		{"a word missing", errors.New("not a CIFAR batch"), []string{"data.bin"}, true},
	} {
		r := &recorder{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			Want(r, tc.err, tc.subs...)
		}()
		<-done
		if r.failed != tc.fail {
			t.Errorf("%s: failed %v, want %v", tc.name, r.failed, tc.fail)
		}
	}
}
