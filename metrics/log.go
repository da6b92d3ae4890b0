package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Append adds e to the JSON-lines file at path, creating it if missing. The
// line goes out in one write to a file opened for appending, so a crash
// loses at most this line, never an earlier one.
func Append(path string, e Epoch) error {
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode epoch %d for %s: %w", e.Epoch, path, err)
	}
	line = append(line, '\n')
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open metrics file: %w", err)
	}
	if _, err := f.Write(line); err != nil {
		_ = f.Close() // the write error is the one to report
		return fmt.Errorf("append to %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

// Read parses the JSON-lines file at path, one Epoch per non-blank line, in
// file order.
func Read(path string) ([]Epoch, error) {
	buf, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &hintError{
			msg: fmt.Sprintf("no such metrics file %s: pass the metrics.jsonl in the --out directory of a vkcnn train run", path),
			err: err,
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read metrics file: %w", err)
	}
	var epochs []Epoch
	for i, line := range bytes.Split(buf, []byte("\n")) {
		// Blank lines carry nothing; the final newline makes one.
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e Epoch
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("%s line %d is not an epoch record (%v): delete that line or the file", path, i+1, err)
		}
		epochs = append(epochs, e)
	}
	if len(epochs) == 0 {
		return nil, fmt.Errorf("%s is empty: it has no epochs yet; train for at least one epoch", path)
	}
	return epochs, nil
}
