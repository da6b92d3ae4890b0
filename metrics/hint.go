package metrics

// hintError prints a message a user can act on while still unwrapping to the
// underlying error, so callers can test errors.Is(err, fs.ErrNotExist).
type hintError struct {
	msg string
	err error
}

func (e *hintError) Error() string { return e.msg }
func (e *hintError) Unwrap() error { return e.err }
