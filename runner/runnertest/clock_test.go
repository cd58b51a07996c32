package runnertest_test

import (
	"slices"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/runner/runnertest"
)

func TestClock(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := runnertest.NewClock(start)
	var fired []string
	c.AfterFunc(time.Minute, func() { fired = append(fired, "a") })
	stopB := c.AfterFunc(time.Minute, func() { fired = append(fired, "b") })
	c.AfterFunc(time.Hour, func() { fired = append(fired, "c") })
	if !stopB() || stopB() {
		t.Error("stop: want true once, then false")
	}
	c.Advance(59 * time.Second)
	if len(fired) != 0 || c.Pending() != 2 {
		t.Errorf("fired %v early, %d pending", fired, c.Pending())
	}
	c.Advance(time.Second)
	if !slices.Equal(fired, []string{"a"}) || !c.Now().Equal(start.Add(time.Minute)) || c.Pending() != 1 {
		t.Errorf("fired %v at %v, %d pending", fired, c.Now(), c.Pending())
	}
	c.Advance(2 * time.Hour)
	if !slices.Equal(fired, []string{"a", "c"}) || c.Pending() != 0 {
		t.Errorf("fired %v", fired)
	}
}
