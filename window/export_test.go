//go:build window

package window

// SetSize resizes the window as a user would, for tests of resizing.
func (w *Window) SetSize(width, height int) {
	w.do(func() error {
		if w.win != nil {
			w.win.SetSize(width, height)
		}
		return nil
	})
}
