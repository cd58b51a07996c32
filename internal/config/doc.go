// Package config is quaymirror's configuration: the Config struct whose env
// tags name every setting (the names of the per-organization job it
// replaces are kept), flags layered over the environment as a go-envconfig
// lookuper, one-line errors that name the setting, and Resolve, which
// checks a configuration for a command and reads the token and credential
// files before any request is sent. docs/configuration.md is generated from
// the struct tags (make docs) and a test keeps it current.
package config
