package arch

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

//go:embed zoo/*.net
var zoo embed.FS

// Default is the architecture used when none is named: the tutorial's network.
const Default = "seed"

// Names lists the zoo's networks.
func Names() []string {
	entries, _ := fs.ReadDir(zoo, "zoo")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".net"))
	}
	slices.Sort(out)
	return out
}

// Zoo returns the description of a zoo network.
func Zoo(name string) (string, bool) {
	b, err := zoo.ReadFile(path.Join("zoo", name+".net"))
	return string(b), err == nil
}

// Source resolves --arch: a zoo name, else a model file.
func Source(arch string) (name, text string, err error) {
	if t, ok := Zoo(arch); ok {
		return arch, t, nil
	}
	b, err := os.ReadFile(arch)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("--arch %s: not a zoo network (%s) and no such file: run vkcnn models to list the zoo",
			arch, strings.Join(Names(), ", "))
	}
	if err != nil {
		return "", "", fmt.Errorf("--arch %s: %w", arch, err)
	}
	return arch, string(b), nil
}

// Load resolves arch (zoo name or file) and builds it for in.
func Load(arch string, in Input) (*Network, error) {
	name, text, err := Source(arch)
	if err != nil {
		return nil, err
	}
	return Build(name, text, in)
}
