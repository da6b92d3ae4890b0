package backend

// CheckLookahead validates Lookahead's arguments: p and ema F32 of one
// shape, decay F32 [1]. Each backend checks besides that p and ema (and
// decay) are separate storage, which only it can see: ema is the slow copy
// that p is pulled toward, so one buffer for both would make the op a no-op
// that hides a wiring mistake.
func CheckLookahead(op string, p, ema, decay Tensor) error {
	if err := CheckSame(op, p, ema); err != nil {
		return err
	}
	return wantShape(op, "decay", decay, F32, 1)
}
