package metrics

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sampleEpochs() []Epoch {
	return []Epoch{
		{Epoch: 1, TrainLoss: 1.61, TrainAccuracy: 41.2, TestAccuracy: 50.3, Seconds: 12.5, ImagesPerSecond: 4000, LR: 0.001},
		{Epoch: 2, TrainLoss: 1.12, TrainAccuracy: 60.1, TestAccuracy: 62.9, Seconds: 11.9, ImagesPerSecond: 4201.5},
		{Epoch: 3, TrainLoss: 0.93, TrainAccuracy: 67.0, TestAccuracy: 66.1, Seconds: 12.0, ImagesPerSecond: 4166.25},
	}
}

func TestAppendReadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	want := sampleEpochs()
	for _, e := range want {
		if err := Append(path, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read = %+v\nwant %+v", got, want)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	first := strings.SplitN(string(raw), "\n", 2)[0]
	const wantLine = `{"epoch":1,"train_loss":1.61,"train_accuracy":41.2,"test_accuracy":50.3,"seconds":12.5,"images_per_second":4000,"lr":0.001}`
	if first != wantLine {
		t.Errorf("first line = %s\nwant %s", first, wantLine)
	}
}

// TestAppendNonFinite checks a diverged epoch is still logged, as null.
func TestAppendNonFinite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	e := Epoch{Epoch: 4, TrainLoss: math.NaN(), TrainAccuracy: 10, TestAccuracy: 10, Seconds: math.Inf(1)}
	if err := Append(path, e); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"train_loss":null`) {
		t.Errorf("line %s does not record the NaN loss as null", raw)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(got[0].TrainLoss) || !math.IsNaN(got[0].Seconds) || got[0].TestAccuracy != 10 {
		t.Errorf("Read = %+v, want NaN loss and seconds, test accuracy 10", got[0])
	}
}

func TestReadErrors(t *testing.T) {
	good := `{"epoch":1,"train_loss":1,"train_accuracy":2,"test_accuracy":3,"seconds":4,"images_per_second":5}`
	tests := []struct {
		name    string
		content *string
		wantErr string
	}{
		{"missing file", nil, "no such metrics file"},
		{"empty file", ptr(""), "is empty: it has no epochs yet"},
		{"only blank lines", ptr("\n\n  \n"), "is empty"},
		{"bad second line", ptr(good + "\n{oops}\n"), "line 2 is not an epoch record"},
		{"torn last line", ptr(good + "\n" + good + "\n" + `{"epoch":3,"train_lo`), "line 3 is not an epoch record"},
		{"wrong type", ptr(`{"epoch":"one"}`), "line 1 is not an epoch record"},
		{"not an object", ptr("[1,2]\n"), "line 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "metrics.jsonl")
			if tc.content != nil {
				if err := os.WriteFile(path, []byte(*tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Read(path)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Read error = %v, want one containing %q", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q should be one line naming %s", err, path)
			}
		})
	}
}

func TestReadMissingUnwraps(t *testing.T) {
	_, err := Read(filepath.Join(t.TempDir(), "metrics.jsonl"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false, want true", err)
	}
}

func TestReadSkipsBlankLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	content := "\n" + `{"epoch":1}` + "\r\n\n" + `{"epoch":2}` + "\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Epoch != 1 || got[1].Epoch != 2 {
		t.Errorf("Read = %+v, want epochs 1 and 2", got)
	}
}

func TestAppendIntoMissingDirectory(t *testing.T) {
	err := Append(filepath.Join(t.TempDir(), "missing", "metrics.jsonl"), Epoch{Epoch: 1})
	if err == nil || !strings.Contains(err.Error(), "open metrics file") {
		t.Errorf("Append error = %v, want an open error", err)
	}
}

func ptr(s string) *string { return &s }
