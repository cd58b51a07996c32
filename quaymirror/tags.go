package quaymirror

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
)

// Tags reads every tag of the repository namespace/name through l, page
// after page, and returns them sorted by name, each once (a name listed
// again on a later page takes the later listing). It stops with an error
// wrapping ErrBadResponse when a page hands out a token already used (the
// listing loops) or after MaxPages pages. Each page is one call of l: to
// pace the requests, hand Tags a TagLister that waits before each call.
func Tags(ctx context.Context, l TagLister, namespace, name string) ([]Tag, error) {
	full := namespace + "/" + name
	byName := make(map[string]Tag)
	tokens := map[string]struct{}{"": {}}
	token := ""
	for page := 1; ; page++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if page > MaxPages {
			return nil, fmt.Errorf("listing the tags of %s: more than %d pages: %w", full, MaxPages, ErrBadResponse)
		}
		p, err := l.ListTags(ctx, namespace, name, token)
		if err != nil {
			return nil, fmt.Errorf("listing the tags of %s (page %d): %w", full, page, err)
		}
		for _, t := range p.Tags {
			byName[t.Name] = t
		}
		if p.Next == "" {
			break
		}
		if _, again := tokens[p.Next]; again {
			return nil, fmt.Errorf("listing the tags of %s: page %d hands out the token of an earlier page: the listing loops: %w", full, page, ErrBadResponse)
		}
		tokens[p.Next] = struct{}{}
		token = p.Next
	}
	out := slices.Collect(maps.Values(byName))
	slices.SortFunc(out, func(a, b Tag) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}
