package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/quaymirror/quaymirror/internal/cli"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal stops new work: repositories in flight finish
		// and the report says the run was interrupted. A second one ends
		// the process at once.
		<-signals
		fmt.Fprintln(os.Stderr, "quaymirror: stopping after the repositories in flight (signal again to abort)")
		cancel()
		<-signals
		os.Exit(130)
	}()
	os.Exit(cli.Run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}
