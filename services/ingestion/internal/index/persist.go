package index

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// On disk a collection's index is a directory of immutable segment files
// and a MANIFEST naming them (ADR 0051), every file sealed with the
// tenant's key (AES-256-GCM, bound to the tenant, the collection and the
// file's name):
//
//   - a segment holds a range of chunk ordinals: their ids and lengths, and
//     for each term with a chunk in the range its keyed hash and the part of
//     its postings list in the range (bytes as in memory, so loading is
//     appending);
//   - the manifest holds the generation, the segments in order with the
//     SHA-256 of each file, and the dead ordinals.
//
// A flush writes the chunks added since the last one as a new segment and
// then a new manifest (each written to a temporary file, synced, renamed;
// the directory synced), so a crash leaves the previous manifest and the
// files it names; unnamed files are deleted at the next open. The recorded
// generation is the one set before the flush's snapshot, whose chunks and
// deletions the snapshot holds: the index never claims a generation it
// does not hold (ingest/fresh.go rebuilds it from the database otherwise).
//
// Segments are merged in tiers: when the last mergeWidth segments are no
// larger than a tier (mergeWidth× apart), they become one, so a chunk is
// rewritten about log₈(chunks) times in all. When compactAt of the chunks
// are dead the index is compacted in memory and written as one segment.

const (
	manifestName = "MANIFEST"
	segKind      = "lexical-segment"
	manifestKind = "lexical-manifest"
	segMagic     = "RLXS\x01"
	manMagic     = "RLXM\x01"
	mergeWidth   = 8
)

// errCorrupt: a file of the index does not authenticate or parse (the
// index is deleted and rebuilt from the database).
var errCorrupt = errors.New("lexical index: damaged file")

// persistState is a collection index's state on disk.
type persistState struct {
	// mu: one flush (or merge) at a time; taken before collIndex.mu.
	mu                      sync.Mutex
	dir, tenant, collection string
	segs                    []segMeta
	nextSeg                 uint64
	closed                  bool
	gen                     string   // as in the manifest on disk
	deadOrds                []uint32 // as in the manifest on disk

	// guarded by collIndex.mu
	flushedDocs         uint32
	dirty               []uint32 // term ids with postings not on disk
	deadDirty, genDirty bool
	rewrite             bool // everything is to be written anew (compact)
	scheduled           bool
}

type segMeta struct {
	name   string
	lo, hi uint32
	sum    [32]byte
}

// rewriteAll marks the whole index for the next flush (after compact).
func (d *persistState) rewriteAll() {
	d.rewrite = true
	d.flushedDocs = 0
	d.deadDirty = true
}

// snapshot is what one flush writes.
type snapshot struct {
	lo, hi  uint32
	ids     []string
	lens    []uint32
	terms   []segTerm
	dead    []uint32
	gen     string
	rewrite bool
	// for a rollback
	tids []uint32
	old  [][3]uint32
}

type segTerm struct {
	key           uint64
	prev, next, n uint32
	buf           []byte
}

// takeSnapshot captures what is not on disk yet and marks it flushed (the
// caller holds ix.mu for writing and ix.disk.mu); nil when nothing is.
func (ix *collIndex) takeSnapshot() *snapshot {
	d := &ix.disk
	hi := u32(len(ix.ids))
	if hi == d.flushedDocs && len(d.dirty) == 0 && !d.deadDirty && !d.genDirty && !d.rewrite {
		return nil
	}
	s := &snapshot{lo: d.flushedDocs, hi: hi, ids: ix.ids[d.flushedDocs:hi], lens: ix.lens[d.flushedDocs:hi], gen: ix.gen, rewrite: d.rewrite}
	if d.rewrite {
		d.dirty = d.dirty[:0]
		for tid := range ix.post {
			d.dirty = append(d.dirty, uint32(tid))
		}
	}
	for _, tid := range d.dirty {
		p := &ix.post[tid]
		s.terms = append(s.terms, segTerm{key: ix.keys[tid], prev: p.fNext, next: p.next, n: p.n - p.fN, buf: p.buf[p.fLen:len(p.buf):len(p.buf)]})
		s.tids = append(s.tids, tid)
		s.old = append(s.old, [3]uint32{p.fLen, p.fNext, p.fN})
		p.fLen, p.fNext, p.fN, p.dirty = u32(len(p.buf)), p.next, p.n, false
	}
	d.dirty = d.dirty[:0]
	if ix.nDead > 0 {
		s.dead = make([]uint32, 0, ix.nDead)
		for ord := range hi {
			if ix.isDead(ord) {
				s.dead = append(s.dead, ord)
			}
		}
	}
	d.flushedDocs, d.deadDirty, d.genDirty, d.rewrite = hi, false, false, false
	return s
}

// rollback marks a snapshot that could not be written as not flushed (the
// caller holds ix.mu for writing and ix.disk.mu).
func (ix *collIndex) rollback(s *snapshot) {
	d := &ix.disk
	for i, tid := range s.tids {
		p := &ix.post[tid]
		p.fLen, p.fNext, p.fN = s.old[i][0], s.old[i][1], s.old[i][2]
		if !p.dirty {
			p.dirty = true
			d.dirty = append(d.dirty, tid)
		}
	}
	d.flushedDocs, d.deadDirty, d.genDirty = s.lo, true, true
	if s.rewrite {
		d.rewrite = true
	}
}

// flush writes what is not on disk yet, compacting first when enough
// chunks are dead, then merges segments when a tier is full.
func (ix *collIndex) flush(k Keys) error {
	d := &ix.disk
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	ix.mu.Lock()
	if ix.needsCompaction() {
		ix.compact()
	}
	s := ix.takeSnapshot()
	ix.mu.Unlock()
	if s == nil {
		return nil
	}
	if err := d.write(k, s); err != nil {
		ix.mu.Lock()
		ix.rollback(s)
		ix.mu.Unlock()
		return err
	}
	return d.merge(k)
}

// write stores a snapshot: its segment, then the manifest.
func (d *persistState) write(k Keys, s *snapshot) error {
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return err
	}
	var segs []segMeta
	if !s.rewrite {
		segs = append(segs, d.segs...)
	}
	if s.hi > s.lo || s.rewrite && s.hi > 0 {
		m, err := d.writeSegment(k, encodeSegment(s.lo, s.ids, s.lens, s.terms))
		if err != nil {
			return err
		}
		m.lo, m.hi = s.lo, s.hi
		segs = append(segs, m)
	}
	if err := d.writeManifest(k, segs, s.gen, s.dead); err != nil {
		return err
	}
	old := d.segs
	d.segs = segs
	if s.rewrite {
		for _, m := range old {
			_ = os.Remove(filepath.Join(d.dir, m.name))
		}
	}
	return nil
}

func (d *persistState) writeSegment(k Keys, plain []byte) (segMeta, error) {
	d.nextSeg++
	name := fmt.Sprintf("seg-%012d", d.nextSeg)
	sealed := k.Seal(segKind, d.collection+"/"+name, plain)
	if err := writeFileSync(d.dir, name, sealed); err != nil {
		return segMeta{}, err
	}
	return segMeta{name: name, sum: sha256.Sum256(sealed)}, nil
}

func (d *persistState) writeManifest(k Keys, segs []segMeta, gen string, dead []uint32) error {
	b := []byte(manMagic)
	b = appendString(b, gen)
	b = binary.AppendUvarint(b, d.nextSeg)
	b = binary.AppendUvarint(b, uint64(len(segs)))
	for _, m := range segs {
		b = appendString(b, m.name)
		b = binary.AppendUvarint(b, uint64(m.lo))
		b = binary.AppendUvarint(b, uint64(m.hi))
		b = append(b, m.sum[:]...)
	}
	b = binary.AppendUvarint(b, uint64(len(dead)))
	prev := uint32(0)
	for _, o := range dead {
		b = binary.AppendUvarint(b, uint64(o-prev))
		prev = o
	}
	if err := writeFileSync(d.dir, manifestName, k.Seal(manifestKind, d.collection, b)); err != nil {
		return err
	}
	if err := syncDir(d.dir); err != nil {
		return err
	}
	d.gen, d.deadOrds = gen, dead
	return nil
}

// merge merges the trailing segments while mergeWidth of them fit in one
// tier (see above).
func (d *persistState) merge(k Keys) error {
	for {
		n := len(d.segs)
		if n < mergeWidth {
			return nil
		}
		t := tier(d.segs[n-1])
		j := n - 1
		for j > 0 && tier(d.segs[j-1]) <= t {
			j--
		}
		if n-j < mergeWidth {
			return nil
		}
		if err := d.mergeRun(k, j); err != nil {
			return err
		}
	}
}

// tier is ⌊log₈ chunks⌋ of a segment.
func tier(m segMeta) int {
	t := 0
	for n := m.hi - m.lo; n >= mergeWidth; n /= mergeWidth {
		t++
	}
	return t
}

// mergeRun replaces segments j… by one.
func (d *persistState) mergeRun(k Keys, j int) error {
	var ids []string
	var lens []uint32
	var order []uint64
	terms := map[uint64]*segTerm{}
	for _, m := range d.segs[j:] {
		seg, err := d.readSegment(k, m)
		if err != nil {
			return err
		}
		ids = append(ids, seg.ids...)
		lens = append(lens, seg.lens...)
		for _, t := range seg.terms {
			acc, ok := terms[t.key]
			if !ok {
				c := t
				terms[t.key] = &c
				order = append(order, t.key)
				continue
			}
			if t.prev != acc.next {
				return errCorrupt
			}
			acc.buf = append(acc.buf, t.buf...)
			acc.next, acc.n = t.next, acc.n+t.n
		}
	}
	list := make([]segTerm, len(order))
	for i, key := range order {
		list[i] = *terms[key]
	}
	lo, hi := d.segs[j].lo, d.segs[len(d.segs)-1].hi
	m, err := d.writeSegment(k, encodeSegment(lo, ids, lens, list))
	if err != nil {
		return err
	}
	m.lo, m.hi = lo, hi
	old := d.segs[j:]
	segs := append(append([]segMeta(nil), d.segs[:j]...), m)
	if err := d.writeManifest(k, segs, d.gen, d.deadOrds); err != nil {
		_ = os.Remove(filepath.Join(d.dir, m.name))
		return err
	}
	for _, o := range old {
		_ = os.Remove(filepath.Join(d.dir, o.name))
	}
	d.segs = segs
	return nil
}

// segment is a decoded segment file.
type segment struct {
	lo    uint32
	ids   []string
	lens  []uint32
	terms []segTerm
}

func encodeSegment(lo uint32, ids []string, lens []uint32, terms []segTerm) []byte {
	size := len(segMagic) + 16 + 12*len(ids) + 24*len(terms)
	for _, id := range ids {
		size += len(id)
	}
	for _, t := range terms {
		size += len(t.buf)
	}
	b := make([]byte, 0, size)
	b = append(b, segMagic...)
	b = binary.AppendUvarint(b, uint64(lo))
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for i, id := range ids {
		b = appendString(b, id)
		b = binary.AppendUvarint(b, uint64(lens[i]))
	}
	b = binary.AppendUvarint(b, uint64(len(terms)))
	for _, t := range terms {
		b = binary.LittleEndian.AppendUint64(b, t.key)
		b = binary.AppendUvarint(b, uint64(t.prev))
		b = binary.AppendUvarint(b, uint64(t.next))
		b = binary.AppendUvarint(b, uint64(t.n))
		b = appendBytes(b, t.buf)
	}
	return b
}

func (d *persistState) readSegment(k Keys, m segMeta) (*segment, error) {
	sealed, err := os.ReadFile(filepath.Join(d.dir, m.name))
	if err != nil {
		return nil, err
	}
	if sha256.Sum256(sealed) != m.sum {
		return nil, errCorrupt
	}
	plain, err := k.Open(segKind, d.collection+"/"+m.name, sealed)
	if err != nil {
		return nil, errCorrupt
	}
	r := reader{b: plain}
	r.magic(segMagic)
	s := &segment{lo: r.u32()}
	n := r.count(2)
	s.ids, s.lens = make([]string, 0, n), make([]uint32, 0, n)
	for range n {
		s.ids = append(s.ids, r.str())
		s.lens = append(s.lens, r.u32())
	}
	nt := r.count(12)
	s.terms = make([]segTerm, 0, nt)
	for range nt {
		t := segTerm{key: r.u64le(), prev: r.u32(), next: r.u32(), n: r.u32()}
		t.buf = r.bytes()
		s.terms = append(s.terms, t)
	}
	if r.err != nil || len(r.b) != 0 || s.lo != m.lo || s.lo+u32(len(s.ids)) != m.hi {
		return nil, errCorrupt
	}
	return s, nil
}

// load reads a collection's index from dir: errNotExist when there is
// none, errCorrupt when it cannot be read.
func load(dir, tenant, collection string, k Keys) (*collIndex, error) {
	sealed, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, err
	}
	plain, err := k.Open(manifestKind, collection, sealed)
	if err != nil {
		return nil, errCorrupt
	}
	ix := newCollIndex(newTermKeyer(k))
	d := &ix.disk
	d.dir, d.tenant, d.collection = dir, tenant, collection
	r := reader{b: plain}
	r.magic(manMagic)
	ix.gen = r.str()
	d.gen = ix.gen
	d.nextSeg = r.u64()
	for range r.count(36) {
		m := segMeta{name: r.str(), lo: r.u32(), hi: r.u32()}
		copy(m.sum[:], r.take(32))
		d.segs = append(d.segs, m)
	}
	var dead []uint32
	prev := uint32(0)
	for range r.count(1) {
		prev += r.u32()
		dead = append(dead, prev)
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, errCorrupt
	}
	for _, m := range d.segs {
		if !strings.HasPrefix(m.name, "seg-") || strings.ContainsAny(m.name, `/\`) {
			return nil, errCorrupt
		}
		seg, err := d.readSegment(k, m)
		if err != nil {
			return nil, errCorrupt
		}
		if err := ix.appendSegment(seg); err != nil {
			return nil, err
		}
	}
	for _, o := range dead {
		if o >= u32(len(ix.ids)) {
			return nil, errCorrupt
		}
		if !ix.isDead(o) {
			delete(ix.byID, ix.ids[o])
			ix.kill(o)
		}
	}
	d.deadOrds = dead
	d.flushedDocs, d.deadDirty = u32(len(ix.ids)), false
	for i := range ix.post {
		p := &ix.post[i]
		p.fLen, p.fNext, p.fN = u32(len(p.buf)), p.next, p.n
	}
	d.removeStrays()
	return ix, nil
}

// appendSegment adds a segment read from disk to ix (at open).
func (ix *collIndex) appendSegment(s *segment) error {
	if s.lo != u32(len(ix.ids)) {
		return errCorrupt
	}
	for i, id := range s.ids {
		ix.addDoc(id, s.lens[i])
	}
	for _, t := range s.terms {
		tid, ok := ix.terms[t.key]
		if !ok {
			tid = ix.newTerm(t.key)
		}
		p := &ix.post[tid]
		if p.next != t.prev || t.next < t.prev || t.next > u32(len(ix.ids)) {
			return errCorrupt
		}
		p.buf = append(p.buf, t.buf...)
		p.next, p.n = t.next, p.n+t.n
	}
	return nil
}

// removeStrays deletes the files of dir the manifest does not name
// (temporary files and segments of a write a crash interrupted).
func (d *persistState) removeStrays() {
	keep := map[string]bool{manifestName: true}
	for _, m := range d.segs {
		keep[m.name] = true
	}
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !keep[e.Name()] {
			_ = os.RemoveAll(filepath.Join(d.dir, e.Name()))
		}
	}
}

func writeFileSync(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// u32 converts a length or an ordinal: a collection holds fewer than 2³²
// chunks (addDoc refuses more) and a postings list fewer than 2³² bytes.
func u32(n int) uint32 { return uint32(n) } //nolint:gosec // see above

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// reader decodes a file, the first error sticky.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() { r.err, r.b = errCorrupt, nil }

func (r *reader) u64() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) u32() uint32 {
	v := r.u64()
	if v > 1<<32-1 {
		r.fail()
		return 0
	}
	return uint32(v)
}

// count reads a count of items of at least min bytes each, bounded by
// what is left.
func (r *reader) count(minBytes int) int {
	v := r.u64()
	if v > uint64(len(r.b)/minBytes) { //nolint:gosec // a length, not negative
		r.fail()
		return 0
	}
	return int(v) //nolint:gosec // at most len(r.b)
}

func (r *reader) take(n int) []byte {
	if n > len(r.b) {
		r.fail()
		return make([]byte, n)
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte { return r.take(int(r.u32())) }
func (r *reader) str() string   { return string(r.bytes()) }
func (r *reader) u64le() uint64 { return binary.LittleEndian.Uint64(r.take(8)) }

func (r *reader) magic(m string) {
	if string(r.take(len(m))) != m {
		r.fail()
	}
}
