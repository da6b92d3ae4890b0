package dataset

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"

	"github.com/vkcnn/vkcnn/internal/atomicfile"
)

// A converted image folder is cached in one file per folder and image size,
// under CacheDir/imagefolder/. The file holds a key (a hash of every image's
// path, size and modification time, the size and the scaler), the list of
// images with their sizes, times and, for the unreadable ones, why, then the
// records and the training split's normalization figures. When the key
// matches the folder, the records are used as they are (the cheap path: a
// walk of the folder and one read); when it does not, images whose path, size
// and time are unchanged keep their records and only the others are
// converted. Files are written through atomicfile and end in a CRC-32C of
// everything before, so a damaged cache is noticed and rebuilt.

const (
	cacheMagic   = "VKCNNIMF"
	cacheVersion = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// cacheEntry is one image in the cache.
type cacheEntry struct {
	rel         string
	size, mtime int64
	class       int
	reason      string // why it is unreadable; "" when it was read
	record      []byte // its record, when read (aliasing the cache's split)
}

// folderCache is a converted image folder.
type folderCache struct {
	key                   [32]byte
	side                  int
	classes               []string
	trainFiles, testFiles []cacheEntry
	train, test           []byte // records of the readable images, in file order
	mean, std             []float64
}

// key hashes what the conversion depends on.
func (l *folderList) key(side int) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s v%d side %d scaler %s test %s\n", cacheMagic, cacheVersion, side, scalerName, l.testDir)
	var b [8]byte
	for _, fs := range [][]imageFile{l.train, l.test} {
		binary.LittleEndian.PutUint64(b[:], uint64(len(fs)))
		h.Write(b[:])
		for _, f := range fs {
			fmt.Fprintf(h, "%d %d %d %s\n", f.class, f.size, f.mtime, f.rel)
		}
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// folderCachePath is where the cache of the folder at root, converted to
// side x side, lives: a name that says which folder, and a hash of its
// absolute path so that two folders of one name never share a file.
func (o Options) folderCachePath(root string, side int) (string, error) {
	dir, err := o.cacheDir()
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256([]byte(abs))
	base := regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(filepath.Base(abs), "_")
	return filepath.Join(dir, "imagefolder", fmt.Sprintf("%s-%s-%dpx.cache", base, hex.EncodeToString(h[:6]), side)), nil
}

// writeFolderCache writes fc to p atomically.
func writeFolderCache(p string, fc *folderCache) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(p, func(w io.Writer) error {
		crc := crc32.New(castagnoli)
		cw := &cacheWriter{w: io.MultiWriter(w, crc)}
		cw.bytes([]byte(cacheMagic))
		cw.u64(cacheVersion)
		cw.bytes(fc.key[:])
		cw.u64(uint64(fc.side))
		cw.u64(uint64(len(fc.classes)))
		for _, c := range fc.classes {
			cw.str(c)
		}
		for _, fs := range [][]cacheEntry{fc.trainFiles, fc.testFiles} {
			cw.u64(uint64(len(fs)))
			for _, e := range fs {
				cw.str(e.rel)
				cw.u64(uint64(e.size))
				cw.u64(uint64(e.mtime))
				cw.u64(uint64(e.class))
				cw.str(e.reason)
			}
		}
		for c := range 3 {
			cw.u64(math.Float64bits(fc.mean[c]))
			cw.u64(math.Float64bits(fc.std[c]))
		}
		cw.u64(uint64(len(fc.train)))
		cw.u64(uint64(len(fc.test)))
		cw.bytes(fc.train)
		cw.bytes(fc.test)
		if cw.err != nil {
			return cw.err
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], crc.Sum32())
		_, err := w.Write(b[:])
		return err
	})
}

type cacheWriter struct {
	w   io.Writer
	err error
}

func (c *cacheWriter) bytes(b []byte) {
	if c.err == nil {
		_, c.err = c.w.Write(b)
	}
}

func (c *cacheWriter) u64(v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	c.bytes(b[:])
}

func (c *cacheWriter) str(s string) {
	c.u64(uint64(len(s)))
	c.bytes([]byte(s))
}

// readFolderCache reads the cache at p; nil when there is none, or it is
// damaged, of another version or of another image size (it is then
// rebuilt, so there is nothing to report).
func readFolderCache(p string, side int) *folderCache {
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() < 4 {
		return nil
	}
	fc, err := parseFolderCache(bufio.NewReaderSize(f, 1<<20), fi.Size(), side)
	if err != nil {
		return nil
	}
	return fc
}

// errBadCache is any reason a cache file is not used.
var errBadCache = errors.New("bad cache")

// parseFolderCache reads a cache file of size bytes from r.
func parseFolderCache(r io.Reader, size int64, side int) (*folderCache, error) {
	crc := crc32.New(castagnoli)
	cr := &cacheReader{r: io.TeeReader(io.LimitReader(r, size-4), crc), left: size - 4}
	if string(cr.bytes(len(cacheMagic))) != cacheMagic || cr.u64() != cacheVersion {
		return nil, errBadCache
	}
	fc := &folderCache{}
	copy(fc.key[:], cr.bytes(32))
	if fc.side = int(cr.u64()); fc.side != side {
		return nil, errBadCache
	}
	nc := cr.count(MaxClasses)
	for range nc {
		fc.classes = append(fc.classes, cr.str())
	}
	for _, fs := range []*[]cacheEntry{&fc.trainFiles, &fc.testFiles} {
		n := cr.count(int(cr.left / 40)) // an entry takes at least 40 bytes
		*fs = make([]cacheEntry, 0, n)
		for range n {
			e := cacheEntry{rel: cr.str(), size: int64(cr.u64()), mtime: int64(cr.u64()), class: int(cr.u64()), reason: cr.str()}
			if e.class < 0 || e.class >= nc {
				return nil, errBadCache
			}
			*fs = append(*fs, e)
		}
	}
	fc.mean, fc.std = make([]float64, 3), make([]float64, 3)
	for c := range 3 {
		fc.mean[c] = math.Float64frombits(cr.u64())
		fc.std[c] = math.Float64frombits(cr.u64())
	}
	nTrain := cr.count(int(cr.left))
	nTest := cr.count(int(cr.left) - 8 - nTrain)
	fc.train, fc.test = cr.bytes(nTrain), cr.bytes(nTest)
	if cr.err != nil || cr.left != 0 {
		return nil, errBadCache
	}
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil || binary.LittleEndian.Uint32(b[:]) != crc.Sum32() {
		return nil, errBadCache
	}
	// Point each readable entry at its record.
	rs := 1 + 3*side*side
	for _, s := range []struct {
		fs   []cacheEntry
		recs []byte
	}{{fc.trainFiles, fc.train}, {fc.testFiles, fc.test}} {
		n := 0
		for i := range s.fs {
			if s.fs[i].reason != "" {
				continue
			}
			if (n+1)*rs > len(s.recs) {
				return nil, errBadCache
			}
			s.fs[i].record = s.recs[n*rs : (n+1)*rs]
			n++
		}
		if n*rs != len(s.recs) {
			return nil, errBadCache
		}
	}
	return fc, nil
}

// cacheReader reads the fields writeFolderCache wrote; after the first
// error it returns zero values and keeps the error.
type cacheReader struct {
	r    io.Reader
	left int64
	err  error
}

func (c *cacheReader) bytes(n int) []byte {
	if c.err != nil || n < 0 || int64(n) > c.left {
		c.err = errBadCache
		return nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c.r, b); err != nil {
		c.err = errBadCache
		return nil
	}
	c.left -= int64(n)
	return b
}

func (c *cacheReader) u64() uint64 {
	b := c.bytes(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// count reads a count of at most limit.
func (c *cacheReader) count(limit int) int {
	v := c.u64()
	if v > uint64(max(limit, 0)) {
		c.err = errBadCache
		return 0
	}
	return int(v)
}

func (c *cacheReader) str() string {
	return string(c.bytes(c.count(1 << 16)))
}
