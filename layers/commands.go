package layers

import "github.com/vkcnn/vkcnn/backend"

// commandCounter is a program that knows how many device commands one run
// records: the Vulkan backend's (the CPU reference records closures, not
// commands).
type commandCounter interface {
	Counts() (dispatches, barriers int)
}

// StepCommands says how many dispatches and hazard barriers one recorded
// training step (of a full batch) holds, and whether the backend counts
// them. On a GPU a small model's step costs about as much per dispatch and
// barrier as it does per FLOP, so these are what fusion is measured by.
func (t *Trainer) StepCommands() (dispatches, barriers int, ok bool) {
	return counts(t.full)
}

func counts(p backend.Program) (dispatches, barriers int, ok bool) {
	c, ok := p.(commandCounter)
	if !ok {
		return 0, 0, false
	}
	d, b := c.Counts()
	return d, b, true
}
