package dataset

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// This file reads the Python pickles of CIFAR's Python layout without
// Python. gopickle decodes the pickle opcodes; what it lacks is numpy, whose
// arrays a pickle rebuilds by calling numpy functions. The hooks below stand
// in for the few a data set pickle calls:
//
//   - numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b') makes an
//     empty array, then BUILD sets its state (version, shape, dtype,
//     is_fortran, raw bytes): how every numpy pickles arrays up to
//     protocol 4;
//   - numpy.core.numeric._frombuffer(buffer, dtype, shape, order): numpy's
//     protocol 5 form;
//   - numpy.dtype('u1', False, True), then BUILD with its byte order;
//   - numpy.core.multiarray.scalar(dtype, bytes): a numpy scalar, such as a
//     label taken out of an array;
//   - _codecs.encode(str, 'latin1'): how Python 3 writes bytes at protocol 2
//     (the raw array data), and __builtin__.bytes() for empty bytes.
//
// numpy 2 moved numpy.core to numpy._core; both names are accepted. Python 2
// wrote the official CIFAR pickles, with the array data as a str: gopickle
// gives such a str as a Go string of the raw bytes, which is what we want.

// maxPickleSize bounds the pickle files read (the largest official one,
// CIFAR-100's train, is 155 MB).
const maxPickleSize = 1 << 30

// ndarray is a numpy array rebuilt from a pickle: its shape, element type,
// memory order and raw bytes.
type ndarray struct {
	shape   []int
	dtype   *dtype
	fortran bool
	data    []byte
}

// dtype is a numpy element type: kind ('u' unsigned, 'i' signed, 'b'
// boolean, 'f' float, ...), size in bytes and byte order.
type dtype struct {
	kind      byte
	size      int
	bigEndian bool
	name      string
}

func (d *dtype) String() string {
	if d == nil {
		return "none"
	}
	return d.name
}

// integer reports whether values of d are integers this package can read.
func (d *dtype) integer() bool {
	return d != nil && (d.kind == 'u' || d.kind == 'i' || d.kind == 'b') && (d.size == 1 || d.size == 2 || d.size == 4 || d.size == 8)
}

// int returns the integer of d's type at the start of b.
func (d *dtype) int(b []byte) int64 {
	var u uint64
	switch d.size {
	case 1:
		u = uint64(b[0])
		if d.kind == 'i' {
			return int64(int8(b[0]))
		}
	case 2:
		if d.bigEndian {
			u = uint64(binary.BigEndian.Uint16(b))
		} else {
			u = uint64(binary.LittleEndian.Uint16(b))
		}
		if d.kind == 'i' {
			return int64(int16(u))
		}
	case 4:
		if d.bigEndian {
			u = uint64(binary.BigEndian.Uint32(b))
		} else {
			u = uint64(binary.LittleEndian.Uint32(b))
		}
		if d.kind == 'i' {
			return int64(int32(u))
		}
	case 8:
		if d.bigEndian {
			u = binary.BigEndian.Uint64(b)
		} else {
			u = binary.LittleEndian.Uint64(b)
		}
		if d.kind == 'i' {
			return int64(u)
		}
		if u > 1<<62 {
			return -1 // out of any label range; reported by the caller
		}
	}
	return int64(u)
}

// newDtype parses a numpy type string such as "u1", "<i8" or "|b1".
func newDtype(s string) *dtype {
	d := &dtype{name: s}
	t := s
	if t != "" && strings.ContainsRune("<>|=", rune(t[0])) {
		d.bigEndian = t[0] == '>'
		t = t[1:]
	}
	if t == "" {
		return d
	}
	d.kind = t[0]
	if n, err := strconv.Atoi(t[1:]); err == nil && n > 0 && n <= 16 {
		d.size = n
	}
	return d
}

// PySetState takes numpy's dtype state: (version, byte order, ...).
func (d *dtype) PySetState(state any) error {
	t, ok := state.(*types.Tuple)
	if !ok || t.Len() < 2 {
		return fmt.Errorf("numpy dtype state is %s, want a tuple", pyType(state))
	}
	switch bo, _ := t.Get(1).(string); bo {
	case ">":
		d.bigEndian = true
	case "<", "|", "=":
		// '=' is the writer's native order, little-endian on every machine
		// numpy runs on today.
		d.bigEndian = false
	default:
		return fmt.Errorf("numpy dtype byte order %q", bo)
	}
	return nil
}

// PySetState takes numpy's array state: (version, shape, dtype, is_fortran,
// data), or the same without the version.
func (a *ndarray) PySetState(state any) error {
	t, ok := state.(*types.Tuple)
	if !ok {
		return fmt.Errorf("numpy array state is %s, want a tuple", pyType(state))
	}
	items := []any(*t)
	if len(items) == 5 {
		items = items[1:]
	}
	if len(items) != 4 {
		return fmt.Errorf("numpy array state has %d items, want 4 or 5", t.Len())
	}
	shape, err := pyShape(items[0])
	if err != nil {
		return err
	}
	dt, ok := items[1].(*dtype)
	if !ok {
		return fmt.Errorf("numpy array dtype is %s", pyType(items[1]))
	}
	var fortran bool
	switch f := items[2].(type) {
	case bool:
		fortran = f
	case int:
		fortran = f != 0
	default:
		return fmt.Errorf("numpy array is_fortran is %s, want a bool", pyType(items[2]))
	}
	raw, ok := pyBytes(items[3])
	if !ok {
		return fmt.Errorf("numpy array data is %s, want bytes (an array of Python objects?)", pyType(items[3]))
	}
	a.shape, a.dtype, a.fortran, a.data = shape, dt, fortran, raw
	return a.checkSize()
}

// checkSize checks that the data holds exactly the array's elements.
func (a *ndarray) checkSize() error {
	if a.dtype.size == 0 {
		return fmt.Errorf("numpy array of unsupported type %s", a.dtype)
	}
	n := a.dtype.size
	for _, d := range a.shape {
		// Beyond 2^62 the product is larger than any data: saturate there
		// rather than overflow.
		if d != 0 && n > (1<<62)/d {
			n = 1 << 62
		} else {
			n *= d
		}
	}
	if n != len(a.data) {
		return fmt.Errorf("numpy array of shape %v and type %s has %d bytes of data, want %d", a.shape, a.dtype, len(a.data), n)
	}
	return nil
}

// cOrder returns the array's bytes in C (row-major) order: its data when it
// is in C order already, else a transposed copy of a Fortran-order array.
func (a *ndarray) cOrder() []byte {
	if !a.fortran || len(a.shape) < 2 {
		return a.data
	}
	es := a.dtype.size
	out := make([]byte, len(a.data))
	// Fortran strides: the first index varies fastest.
	fstride := make([]int, len(a.shape))
	s := es
	for k := range a.shape {
		fstride[k] = s
		s *= a.shape[k]
	}
	idx := make([]int, len(a.shape))
	off := 0 // Fortran offset of idx
	for o := 0; o < len(out); o += es {
		copy(out[o:o+es], a.data[off:off+es])
		// Step idx in C order (last index fastest), keeping off in step.
		for k := len(idx) - 1; k >= 0; k-- {
			idx[k]++
			off += fstride[k]
			if idx[k] < a.shape[k] {
				break
			}
			off -= idx[k] * fstride[k]
			idx[k] = 0
		}
	}
	return out
}

// pyShape reads an array shape: a tuple of non-negative ints.
func pyShape(v any) ([]int, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("numpy array shape is %s, want a tuple", pyType(v))
	}
	shape := make([]int, t.Len())
	for i := range shape {
		n, ok := t.Get(i).(int)
		if !ok || n < 0 || n > 1<<40 {
			return nil, fmt.Errorf("numpy array shape %v", []any(*t))
		}
		shape[i] = n
	}
	return shape, nil
}

// pyBytes returns the bytes of a Python bytes, bytearray or (Python 2) str.
func pyBytes(v any) ([]byte, bool) {
	switch b := v.(type) {
	case []byte:
		return b, true
	case string:
		return []byte(b), true
	case *types.ByteArray:
		return []byte(*b), true
	}
	return nil, false
}

// pyType names the Python type of a decoded value, for messages.
func pyType(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "a bool"
	case int, *big.Int:
		return "an int"
	case float64:
		return "a float"
	case string:
		return "a str"
	case []byte, *types.ByteArray:
		return "bytes"
	case *types.Tuple:
		return "a tuple"
	case *types.List:
		return "a list"
	case *types.Dict:
		return "a dict"
	case *ndarray:
		return fmt.Sprintf("a numpy array of shape %v", x.shape)
	case *dtype:
		return "a numpy dtype"
	case *types.GenericObject:
		return "a " + x.Class.Module + "." + x.Class.Name
	}
	return fmt.Sprintf("a %T", v)
}

// callable adapts a Go function to a Python callable.
type callable func(args ...any) (any, error)

// Call implements types.Callable.
func (f callable) Call(args ...any) (any, error) { return f(args...) }

// ndarrayClass stands for the class numpy.ndarray.
type ndarrayClass struct{}

// findClass resolves the globals a pickle refers to; anything but the numpy
// and codec functions above is refused, so a pickle cannot make the reader
// do anything but rebuild data.
func findClass(module, name string) (any, error) {
	module = strings.Replace(module, "numpy._core.", "numpy.core.", 1)
	switch module + "." + name {
	case "numpy.ndarray":
		return ndarrayClass{}, nil
	case "numpy.core.multiarray._reconstruct":
		return callable(func(args ...any) (any, error) {
			if len(args) < 1 {
				return nil, errors.New("numpy _reconstruct without arguments")
			}
			if _, ok := args[0].(ndarrayClass); !ok {
				return nil, fmt.Errorf("numpy _reconstruct of %s, want numpy.ndarray", pyType(args[0]))
			}
			return &ndarray{dtype: &dtype{}}, nil
		}), nil
	case "numpy.core.numeric._frombuffer":
		return callable(func(args ...any) (any, error) {
			if len(args) != 4 {
				return nil, fmt.Errorf("numpy _frombuffer with %d arguments, want 4", len(args))
			}
			raw, ok := pyBytes(args[0])
			dt, ok2 := args[1].(*dtype)
			if !ok || !ok2 {
				return nil, fmt.Errorf("numpy _frombuffer of %s and %s", pyType(args[0]), pyType(args[1]))
			}
			shape, err := pyShape(args[2])
			if err != nil {
				return nil, err
			}
			order, _ := args[3].(string)
			if order != "C" && order != "F" {
				return nil, fmt.Errorf("numpy _frombuffer order %q", order)
			}
			a := &ndarray{shape: shape, dtype: dt, fortran: order == "F", data: raw}
			return a, a.checkSize()
		}), nil
	case "numpy.dtype":
		return callable(func(args ...any) (any, error) {
			if len(args) < 1 {
				return nil, errors.New("numpy dtype without arguments")
			}
			s, ok := args[0].(string)
			if !ok {
				return nil, fmt.Errorf("numpy dtype of %s", pyType(args[0]))
			}
			return newDtype(s), nil
		}), nil
	case "numpy.core.multiarray.scalar":
		return callable(func(args ...any) (any, error) {
			if len(args) != 2 {
				return nil, fmt.Errorf("numpy scalar with %d arguments, want 2", len(args))
			}
			dt, ok := args[0].(*dtype)
			raw, ok2 := pyBytes(args[1])
			if !ok || !ok2 || !dt.integer() || len(raw) != dt.size {
				return nil, fmt.Errorf("numpy scalar of %s, %s: only integer scalars are read", pyType(args[0]), pyType(args[1]))
			}
			return int(dt.int(raw)), nil
		}), nil
	case "_codecs.encode":
		return callable(func(args ...any) (any, error) {
			if len(args) != 2 {
				return nil, fmt.Errorf("_codecs.encode with %d arguments, want 2", len(args))
			}
			s, ok := args[0].(string)
			enc, ok2 := args[1].(string)
			if !ok || !ok2 {
				return nil, fmt.Errorf("_codecs.encode of %s, %s", pyType(args[0]), pyType(args[1]))
			}
			return encodeString(s, enc)
		}), nil
	case "__builtin__.bytes", "builtins.bytes":
		return callable(func(args ...any) (any, error) {
			if len(args) != 0 {
				return nil, fmt.Errorf("bytes() with %d arguments", len(args))
			}
			return []byte{}, nil
		}), nil
	}
	return nil, fmt.Errorf("it refers to %s.%s, which no data set pickle uses", module, name)
}

// encodeString is Python's str.encode for the encodings pickles of bytes
// use: latin1 (each character one byte) and UTF-8.
func encodeString(s, enc string) ([]byte, error) {
	switch strings.ReplaceAll(strings.ToLower(enc), "_", "-") {
	case "latin1", "latin-1", "iso-8859-1", "iso8859-1":
		b := make([]byte, 0, len(s))
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r > 0xFF || (r == utf8.RuneError && n == 1) {
				return nil, fmt.Errorf("_codecs.encode: character %U is not latin1", r)
			}
			b = append(b, byte(r))
			i += n
		}
		return b, nil
	case "utf8", "utf-8":
		return []byte(s), nil
	}
	return nil, fmt.Errorf("_codecs.encode to %q", enc)
}

// unpickle decodes the pickle in data, with the numpy hooks above. It may
// modify data. It checks every length in the pickle against the bytes that
// remain before decoding (gopickle allocates what a length claims), and
// turns any panic of the decoder into an error, so hostile input costs no
// more than its own size.
func unpickle(data []byte) (v any, err error) {
	if len(data) > maxPickleSize {
		return nil, fmt.Errorf("%d bytes, more than the %d a data set pickle may have", len(data), maxPickleSize)
	}
	if err := scanPickle(data); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("malformed pickle (%v)", r)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(data))
	u.FindClass = findClass
	v, err = u.Load()
	if err != nil {
		return nil, fmt.Errorf("not a readable pickle (%w)", err)
	}
	return v, nil
}

// Pickle opcodes by the size of their argument, as Python's pickletools
// lists them. Lines end with '\n'.
const (
	argNone   = iota
	argLine   // one text line
	argLines2 // two text lines (GLOBAL, INST)
	argFixed  // a fixed number of bytes (pickleFixed)
	argLen1   // a 1-byte length, then that many bytes
	argLen4   // a 4-byte little-endian length, then that many bytes
	argLen8   // an 8-byte little-endian length, then that many bytes
	argFrame  // an 8-byte frame length; the frame's opcodes follow
)

var pickleArgs = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for _, op := range []byte("(.012NRabd}el]ost)u\x81\x85\x86\x87\x88\x89\x8f\x90\x91\x92\x93\x94\x97\x98Q") {
		t[op] = argNone
	}
	for _, op := range []byte("IFLSVgpP") {
		t[op] = argLine
	}
	t['c'], t['i'] = argLines2, argLines2
	for _, op := range []byte("JKMGhjqr\x80\x82\x83\x84") {
		t[op] = argFixed
	}
	for _, op := range []byte("UC\x8c\x8a") {
		t[op] = argLen1
	}
	for _, op := range []byte("TXB\x8b") {
		t[op] = argLen4
	}
	for _, op := range []byte("\x8d\x8e\x96") {
		t[op] = argLen8
	}
	t['\x95'] = argFrame
	return t
}()

// pickleFixed is the argument size of the argFixed opcodes.
var pickleFixed = map[byte]int{'J': 4, 'K': 1, 'M': 2, 'G': 8, 'h': 1, 'j': 4, 'q': 1, 'r': 4, '\x80': 1, '\x82': 1, '\x83': 2, '\x84': 4}

// scanPickle walks the opcodes of data up to its STOP and checks that every
// argument fits in what remains, and that the pickle ends. It rewrites
// LONG1 of zero bytes (Python 2's 0L), which gopickle cannot decode, into
// the equal BININT1 0.
func scanPickle(data []byte) error {
	i := 0
	for i < len(data) {
		op := data[i]
		kind := pickleArgs[op]
		if kind < 0 {
			return fmt.Errorf("not a pickle (unknown opcode 0x%02x at byte %d)", op, i)
		}
		at := i
		i++
		rest := len(data) - i
		var n uint64
		switch kind {
		case argNone:
			if op == '.' {
				return nil
			}
			continue
		case argLine, argLines2:
			lines := 1
			if kind == argLines2 {
				lines = 2
			}
			for range lines {
				k := bytes.IndexByte(data[i:], '\n')
				if k < 0 {
					return fmt.Errorf("truncated pickle (opcode at byte %d)", at)
				}
				i += k + 1
			}
			continue
		case argFixed:
			n = uint64(pickleFixed[op])
		case argLen1:
			if rest < 1 {
				return fmt.Errorf("truncated pickle (opcode at byte %d)", at)
			}
			if op == '\x8a' && data[i] == 0 {
				data[at] = 'K'
			}
			n = 1 + uint64(data[i])
		case argLen4:
			if rest < 4 {
				return fmt.Errorf("truncated pickle (opcode at byte %d)", at)
			}
			n = 4 + uint64(binary.LittleEndian.Uint32(data[i:]))
		case argLen8, argFrame:
			if rest < 8 {
				return fmt.Errorf("truncated pickle (opcode at byte %d)", at)
			}
			n = 8
			if kind == argLen8 {
				n += binary.LittleEndian.Uint64(data[i:])
			} else if binary.LittleEndian.Uint64(data[i:]) > uint64(rest-8) {
				return fmt.Errorf("truncated pickle (frame at byte %d)", at)
			}
		}
		if n > uint64(rest) {
			return fmt.Errorf("truncated pickle (opcode at byte %d needs %d bytes, %d remain)", at, n, rest)
		}
		i += int(n)
	}
	return errors.New("truncated pickle (no STOP opcode)")
}

// pyGet returns the value under key in a pickled dict, whose keys may be
// str (Python 2, or Python 3 str) or bytes (a dict that Python 3 loaded with
// encoding='bytes' and pickled again).
func pyGet(v any, key string) (any, bool) {
	d, ok := v.(*types.Dict)
	if !ok {
		return nil, false
	}
	for _, e := range *d {
		switch k := e.Key.(type) {
		case string:
			if k == key {
				return e.Value, true
			}
		case []byte:
			if string(k) == key {
				return e.Value, true
			}
		}
	}
	return nil, false
}

// pyKeys lists a dict's str and bytes keys, for messages.
func pyKeys(v any) []string {
	d, ok := v.(*types.Dict)
	if !ok {
		return nil
	}
	var keys []string
	for _, e := range *d {
		switch k := e.Key.(type) {
		case string:
			keys = append(keys, k)
		case []byte:
			keys = append(keys, string(k))
		}
	}
	return keys
}

// pyInts reads a list or tuple of ints, or a 1-D integer numpy array.
func pyInts(v any) ([]int64, error) {
	var items []any
	switch x := v.(type) {
	case *types.List:
		items = []any(*x)
	case *types.Tuple:
		items = []any(*x)
	case *ndarray:
		if len(x.shape) != 1 || !x.dtype.integer() {
			return nil, fmt.Errorf("is a numpy array of shape %v and type %s, want a list of ints", x.shape, x.dtype)
		}
		out := make([]int64, x.shape[0])
		for i := range out {
			out[i] = x.dtype.int(x.data[i*x.dtype.size:])
		}
		return out, nil
	default:
		return nil, fmt.Errorf("is %s, want a list of ints", pyType(v))
	}
	out := make([]int64, len(items))
	for i, it := range items {
		switch n := it.(type) {
		case int:
			out[i] = int64(n)
		case bool:
			if n {
				out[i] = 1
			}
		default:
			return nil, fmt.Errorf("item %d is %s, want an int", i, pyType(it))
		}
	}
	return out, nil
}

// pyStrings reads a list or tuple of str or bytes.
func pyStrings(v any) ([]string, error) {
	var items []any
	switch x := v.(type) {
	case *types.List:
		items = []any(*x)
	case *types.Tuple:
		items = []any(*x)
	default:
		return nil, fmt.Errorf("is %s, want a list of names", pyType(v))
	}
	out := make([]string, len(items))
	for i, it := range items {
		switch s := it.(type) {
		case string:
			out[i] = s
		case []byte:
			out[i] = string(s)
		default:
			return nil, fmt.Errorf("item %d is %s, want a str", i, pyType(it))
		}
	}
	return out, nil
}
