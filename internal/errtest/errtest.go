// Package errtest checks, in tests, the errors that users read: there is
// one, it is a single line, and it names what is wrong.
package errtest

import (
	"strings"
	"testing"
)

// Want fails t unless err is a one-line error containing every one of subs.
func Want(t testing.TB, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", subs)
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, s := range subs {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not contain %q", msg, s)
		}
	}
}
