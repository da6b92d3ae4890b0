//go:build window && linux && !wayland

package window

/*
#cgo LDFLAGS: -lX11
#include <stddef.h>
#include <X11/Xlib.h>

static int canOpenDisplay(void) {
	Display *d = XOpenDisplay(NULL);
	if (d == NULL) {
		return 0;
	}
	XCloseDisplay(d);
	return 1;
}
*/
import "C"

import (
	"fmt"
	"os"
)

// checkDisplay says whether the X server that GLFW will use answers:
// go-gl/glfw's Init only logs that failure and returns nil.
func checkDisplay() error {
	if C.canOpenDisplay() == 0 {
		return fmt.Errorf("cannot open the X display %q (no X server there? without one, run under xvfb-run)", os.Getenv("DISPLAY"))
	}
	return nil
}
