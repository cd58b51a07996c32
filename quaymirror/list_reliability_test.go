package quaymirror_test

import (
	"context"
	"errors"
	"testing"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// cyclingLister answers empty pages whose tokens cycle over tokens: no
// repository ever repeats, yet the listing never ends.
type cyclingLister struct {
	tokens []string
	calls  *int
}

func (l cyclingLister) ListRepositories(_ context.Context, _, token string) (quaymirror.RepositoryPage, error) {
	*l.calls++
	next := l.tokens[0]
	for i, t := range l.tokens {
		if t == token {
			next = l.tokens[(i+1)%len(l.tokens)]
		}
	}
	return quaymirror.RepositoryPage{Next: next}, nil
}

// A listing whose page tokens cycle stops at the first token handed out
// twice, rather than after MaxPages requests.
func TestListingTokenCycleIsDetected(t *testing.T) {
	t.Parallel()
	for _, cycle := range [][]string{{"a"}, {"a", "b"}, {"a", "b", "c", "d"}} {
		calls := 0
		var err error
		for _, err = range quaymirror.Repositories(context.Background(), cyclingLister{cycle, &calls}, "acme") {
		}
		if !errors.Is(err, quaymirror.ErrBadResponse) || calls > len(cycle)+1 {
			t.Errorf("cycle %v: %d pages read, error %v; want the loop noticed at once", cycle, calls, err)
		}
	}
}
