package runner

import (
	"context"
	"fmt"
	"runtime/debug"
)

// Command names what a run does: the Runner method that started it.
type Command string

// Commands.
const (
	CommandSync   Command = "sync"
	CommandPlan   Command = "plan"
	CommandCheck  Command = "check"
	CommandStatus Command = "status"
	CommandVerify Command = "verify"
)

type commandKey struct{}

// withCommand returns ctx carrying c, for CommandFrom.
func withCommand(ctx context.Context, c Command) context.Context {
	return context.WithValue(ctx, commandKey{}, c)
}

// CommandFrom returns the command of the run that ctx belongs to. The
// runner puts it into the context of every call it makes to the Backends
// factory and to the engines, so the requests a backend sends carry it:
// an instrumented transport can tell a sync's requests from a status'.
func CommandFrom(ctx context.Context) (Command, bool) {
	c, ok := ctx.Value(commandKey{}).(Command)
	return c, ok
}

// A command is what a Runner method does with each organisation pair, R
// being the result of one pair. runCommand is the rest, the same for
// every method.
type command[R any] struct {
	name Command
	// budget: the time budget (WithBudget) bounds the command.
	budget bool
	// run runs one pair. An error ends the whole command and is its
	// error; a pair's own failures belong in its result.
	run func(ctx context.Context, o Org) (R, error)
	// failed is the result of a pair whose run panicked.
	failed func(o Org, err error) R
	// notStarted, when set, is the result of a pair not started because
	// the command's context had ended (why says what ended it). Without
	// it every pair is run, whatever the context.
	notStarted func(o Org, why string) R
	// event, when set, is the observer's event of a pair's result (the
	// runner stamps it with the command, the pair and the time). Without
	// it run observes what it wants itself.
	event func(o Org, res *R) Event
	// add collects the result of a pair.
	add func(res R)
}

// runCommand is the frame of every Runner method: it validates orgs,
// registers the call so that Close waits for it, scopes ctx (ended by
// Close and, for a command with a budget, by the budget), tags it with
// the command for CommandFrom, then runs the pairs one after the other.
// A panic in one pair becomes that pair's failed result and the others
// go on.
func runCommand[R any](r *Runner, ctx context.Context, orgs []Org, c command[R]) error {
	if err := checkOrgs(orgs); err != nil {
		return err
	}
	end, err := r.start()
	if err != nil {
		return err
	}
	defer end()
	ctx, release := r.scope(ctx, c.budget)
	defer release()
	ctx = withCommand(ctx, c.name)

	for _, o := range orgs {
		var res R
		if c.notStarted != nil && ctx.Err() != nil {
			res = c.notStarted(o, "not started: "+stopReason(ctx))
		} else if res, err = guard(r, c.name, o, func() (R, error) { return c.run(ctx, o) }, c.failed); err != nil {
			return err
		}
		if c.event != nil {
			r.observe(c.name, o, c.event(o, &res))
		}
		c.add(res)
	}
	return nil
}

// guard returns what run returns or, when it panics, failed's result for
// o: a bug met by one organisation must not take the others (or the
// calls waiting for it) down with it.
func guard[R any](r *Runner, c Command, o Org, run func() (R, error), failed func(Org, error) R) (res R, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.logger.Error("organization run panicked", "command", string(c), "organization", o.Source,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			res, err = failed(o, fmt.Errorf("internal error: %v", p)), nil
		}
	}()
	return run()
}
