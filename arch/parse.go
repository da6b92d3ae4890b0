package arch

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// line is one meaningful line of a model file.
type line struct {
	no     int    // 1-based line number
	indent int    // leading spaces (a tab counts as four)
	name   string // before the colon, or ""
	op     string // the layer type, "" for a bare "name:" block
	args   []string
}

// node is a line with the indented lines under it.
type node struct {
	line
	children []*node
}

// lex splits text into lines, dropping comments and blank lines.
func lex(file, text string) ([]line, error) {
	var out []line
	for i, raw := range strings.Split(text, "\n") {
		no := i + 1
		if c := strings.IndexByte(raw, '#'); c >= 0 {
			raw = raw[:c]
		}
		raw = strings.TrimRight(raw, " \t\r")
		body := strings.TrimLeft(raw, " \t")
		if body == "" {
			continue
		}
		indent := 0
		for _, r := range raw[:len(raw)-len(body)] {
			if r == '\t' {
				indent += 4
			} else {
				indent++
			}
		}
		l := line{no: no, indent: indent}
		fields := strings.Fields(body)
		if len(fields) == 0 { // other Unicode white space only, such as \f or \v
			continue
		}
		colon := false
		if n, ok := strings.CutSuffix(fields[0], ":"); ok {
			l.name, fields, colon = n, fields[1:], true
		} else if n, rest, ok := strings.Cut(fields[0], ":"); ok {
			l.name, fields[0], colon = n, rest, true
		}
		if colon && l.name == "" {
			return nil, fmt.Errorf("%s:%d: a colon without a name before it: write name: layer", file, no)
		}
		if l.name != "" && !validName.MatchString(l.name) {
			return nil, fmt.Errorf("%s:%d: name %q: use letters, digits and _ only", file, no, l.name)
		}
		if len(fields) > 0 {
			l.op, l.args = strings.ToLower(fields[0]), fields[1:]
		}
		out = append(out, l)
	}
	return out, nil
}

var validName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// tree nests lines by indentation under their block lines.
func tree(file string, ls []line) ([]*node, error) {
	root := &node{line: line{indent: -1}}
	stack := []*node{root}
	for _, l := range ls {
		n := &node{line: l}
		for l.indent <= stack[len(stack)-1].indent {
			stack = stack[:len(stack)-1]
		}
		parent := stack[len(stack)-1]
		if parent != root && !isBlock(parent.op) {
			return nil, fmt.Errorf("%s:%d: indented under line %d, but %s is not a block (only name: and residual blocks hold layers)",
				file, l.no, parent.no, parent.op)
		}
		if len(parent.children) > 0 && parent.children[0].indent != l.indent {
			return nil, fmt.Errorf("%s:%d: indentation does not match line %d above it", file, l.no, parent.children[0].no)
		}
		parent.children = append(parent.children, n)
		stack = append(stack, n)
	}
	return root.children, nil
}

func isBlock(op string) bool { return op == "" || op == "sequential" || op == "residual" }

// args holds a line's settings: positional values and key=value pairs,
// each to be taken once; what is left over is a mistake.
type args struct {
	file string
	l    line
	pos  []string
	kv   map[string]string
	err  error
}

func newArgs(file string, l line) *args {
	a := &args{file: file, l: l, kv: map[string]string{}}
	for _, s := range l.args {
		if k, v, ok := strings.Cut(s, "="); ok {
			k = strings.ToLower(k)
			if _, dup := a.kv[k]; dup {
				a.fail("%s given twice", k)
			}
			a.kv[k] = v
		} else {
			a.pos = append(a.pos, s)
		}
	}
	return a
}

func (a *args) fail(format string, v ...any) {
	if a.err == nil {
		a.err = fmt.Errorf("%s:%d: %s: %s", a.file, a.l.no, a.l.op, fmt.Sprintf(format, v...))
	}
}

// positional takes the i-th positional value, or def when it is absent
// ("" def: required, described by what).
func (a *args) positional(i int, what, def string) string {
	if i < len(a.pos) {
		return a.pos[i]
	}
	if def == "" {
		a.fail("missing %s", what)
	}
	return def
}

func (a *args) str(key, def string) string {
	v, ok := a.kv[key]
	if !ok {
		return def
	}
	delete(a.kv, key)
	return v
}

// integer parses an integer setting of at least lo.
func (a *args) integer(what, s string, lo int) int {
	v, err := strconv.Atoi(s)
	if err != nil || v < lo {
		a.fail("%s %q: want a whole number >= %d", what, s, lo)
	}
	return v
}

func (a *args) intKey(key string, def, lo int) int {
	s := a.str(key, "")
	if s == "" {
		return def
	}
	return a.integer(key, s, lo)
}

// number parses a finite float, also written as a fraction such as 1/9.
func (a *args) number(what, s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if n, d, ok := strings.Cut(s, "/"); ok {
		num, err1 := strconv.ParseFloat(n, 64)
		den, err2 := strconv.ParseFloat(d, 64)
		v, err = num/den, errors.Join(err1, err2)
	}
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		a.fail("%s %q: want a finite number such as 0.5 or 1/9", what, s)
	}
	return v
}

func (a *args) floatKey(key string, def float64) float64 {
	s := a.str(key, "")
	if s == "" {
		return def
	}
	return a.number(key, s)
}

// choice takes a setting that must be one of the options (the first is the default).
func (a *args) choice(key string, options ...string) string {
	v := strings.ToLower(a.str(key, options[0]))
	for _, o := range options {
		if v == o {
			return v
		}
	}
	a.fail("%s=%s: want %s", key, v, strings.Join(options, " or "))
	return options[0]
}

func (a *args) floats(key string) []float32 {
	s := a.str(key, "")
	if s == "" {
		a.fail("missing %s=a,b,c", key)
		return nil
	}
	var out []float32
	for _, f := range strings.Split(s, ",") {
		out = append(out, float32(a.number(key, f)))
	}
	return out
}

// done reports the first problem, including settings nobody took.
func (a *args) done(npos int) error {
	if len(a.pos) > npos {
		a.fail("unexpected %q", a.pos[npos])
	}
	for k := range a.kv {
		a.fail("unknown setting %s", k)
		break
	}
	return a.err
}

// bools parses true/false settings.
func (a *args) boolean(key string, def bool) bool {
	switch v := strings.ToLower(a.str(key, "")); v {
	case "":
		return def
	case "true", "yes":
		return true
	case "false", "no":
		return false
	default:
		a.fail("%s=%s: want true or false", key, v)
		return def
	}
}

// frozen reads weight=frozen|trained.
func (a *args) frozen() bool { return a.choice("weight", "trained", "frozen") == "frozen" }
