package quaymirror

import (
	"context"
	"fmt"
	"iter"
)

// MaxPages bounds a listing: 100,000 pages of 100 is ten million
// repositories, far beyond any real organisation, so a server that never
// stops handing out page tokens cannot keep a run going forever.
const MaxPages = 100_000

// Repositories returns every repository of namespace, page after page, as
// an iterator. It stops with an error wrapping ErrBadResponse when the
// listing repeats itself: Quay silently restarts at the first page when a
// page token has expired or is garbled, which would otherwise loop forever.
func Repositories(ctx context.Context, l RepositoryLister, namespace string) iter.Seq2[Repository, error] {
	return func(yield func(Repository, error) bool) {
		err := listPages(ctx, namespace, func(token string) (RepositoryPage, error) {
			return l.ListRepositories(ctx, namespace, token)
		}, func(r Repository) bool { return yield(r, nil) })
		if err != nil {
			yield(Repository{}, err)
		}
	}
}

// listPages fetches pages with fetch and hands every repository to fn
// (which returns false to stop), guarding against restarts and endless
// listings.
func listPages(ctx context.Context, namespace string, fetch func(token string) (RepositoryPage, error), fn func(Repository) bool) error {
	seen := make(map[string]struct{})
	// tokens are the page tokens handed out so far: one handed out again
	// means a loop, even over pages without a repository.
	tokens := map[string]struct{}{"": {}}
	token := ""
	for page := 1; ; page++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if page > MaxPages {
			return fmt.Errorf("listing %s: more than %d pages: %w", namespace, MaxPages, ErrBadResponse)
		}
		p, err := fetch(token)
		if err != nil {
			return fmt.Errorf("listing %s (page %d): %w", namespace, page, err)
		}
		for _, r := range p.Repositories {
			if _, dup := seen[r.Name]; dup {
				return fmt.Errorf("listing %s: page %d repeats repository %q: the listing restarted (expired page token?): %w",
					namespace, page, r.Name, ErrBadResponse)
			}
			seen[r.Name] = struct{}{}
			if !fn(r) {
				return nil
			}
		}
		if p.Next == "" {
			return nil
		}
		if p.Next == token {
			return fmt.Errorf("listing %s: page %d hands out its own token again: %w", namespace, page, ErrBadResponse)
		}
		if _, again := tokens[p.Next]; again {
			return fmt.Errorf("listing %s: page %d hands out the token of an earlier page: the listing loops: %w", namespace, page, ErrBadResponse)
		}
		tokens[p.Next] = struct{}{}
		token = p.Next
	}
}
