// Package shaders holds vkcnn's GLSL compute shaders (*.comp, with shared
// *.glsl includes) and the SPIR-V compiled from them (*.spv), embedded so
// that building vkcnn needs no shader compiler. tools/glslc.sh recompiles
// them; a test checks the committed SPIR-V matches its source.
package shaders

import (
	"embed"
	"fmt"
)

//go:embed *.spv
var spirv embed.FS

// SPIRV returns the compiled module of the shader name (its file name
// without extension, e.g. "saxpy").
func SPIRV(name string) ([]byte, error) {
	code, err := spirv.ReadFile(name + ".spv")
	if err != nil {
		return nil, fmt.Errorf("no embedded shader %q: add shaders/%s.comp and run tools/glslc.sh", name, name)
	}
	return code, nil
}
