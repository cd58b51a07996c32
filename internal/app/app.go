package app

import "github.com/quaymirror/quaymirror/runner"

// Run is runner.Result, the report of a sync or plan over several
// organisations.
type Run = runner.Result
