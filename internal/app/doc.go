// Package app is what is left of the wiring the CLI and the function
// used to share before package runner took it over: the name of the JSON
// report that test/reliability decodes. Delete it once test/reliability
// uses runner.Result.
package app
