// Package runnertest helps test programs that use a runner.Runner: a
// Clock moved by hand, so that a test can spend a run's time budget at the
// exact moment it chooses (from a backend hook, say) instead of waiting
// for the wall clock.
package runnertest
