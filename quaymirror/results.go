package quaymirror

import (
	"cmp"
	"slices"
	"sync"
)

// results gathers the results of a Sync as they come, compactly, and
// makes the report's sorted []Result once at the end. A run of 100,000
// repositories would otherwise grow a []Result of 16 MB by copies, the
// old and the new array alive together at each step; here most results
// (unchanged, unchecked, created: a name, an action, an outcome and a
// reason shared by many) cost one small entry in chunks that never move,
// and the report's array is allocated once, at its size.
type results struct {
	mu     sync.Mutex
	chunks [][]entry
	n      int
	shapes map[shape]*shape
}

// entry is one result: its name and either a shared shape (the result
// has nothing else) or the whole result.
type entry struct {
	name  string
	shape *shape
	full  *Result
}

// shape is what results that only have a name besides share.
type shape struct {
	action  Action
	outcome Outcome
	reason  string
}

const chunkSize = 4096

func (rs *results) add(r Result) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	e := entry{name: r.Name}
	if r.Changes == nil && r.Diff == nil && r.Error == "" && r.Warning == "" && r.err == nil {
		k := shape{r.Action, r.Outcome, r.Reason}
		s := rs.shapes[k]
		if s == nil {
			if rs.shapes == nil {
				rs.shapes = make(map[shape]*shape)
			}
			s = &k
			rs.shapes[k] = s
		}
		e.shape = s
	} else {
		e.full = &r
	}
	if rs.n%chunkSize == 0 {
		rs.chunks = append(rs.chunks, make([]entry, 0, chunkSize))
	}
	last := len(rs.chunks) - 1
	rs.chunks[last] = append(rs.chunks[last], e)
	rs.n++
}

// sorted returns the results sorted by name, and forgets them.
func (rs *results) sorted() []Result {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	all := make([]entry, 0, rs.n)
	for i, c := range rs.chunks {
		all = append(all, c...)
		rs.chunks[i] = nil
	}
	rs.chunks = nil
	slices.SortFunc(all, func(a, b entry) int { return cmp.Compare(a.name, b.name) })
	out := make([]Result, len(all))
	for i, e := range all {
		if e.full != nil {
			out[i] = *e.full
			continue
		}
		out[i] = Result{Name: e.name, Action: e.shape.action, Outcome: e.shape.outcome, Reason: e.shape.reason}
	}
	return out
}
