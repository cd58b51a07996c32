package config

import (
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/sethvargo/go-envconfig"
)

// Flags registers one flag per setting on fs (named as Setting.Flag, its
// usage naming the environment variable) and returns a lookuper in which
// the flags given on the command line override env. --org may be repeated
// and accumulates.
func Flags(fs *flag.FlagSet, env envconfig.Lookuper) envconfig.Lookuper {
	set := make(map[string]string)
	for _, s := range Settings() {
		v := &flagValue{setting: s, set: set}
		fs.Var(v, s.Flag, usage(s))
		if s.Env == "OUTPUT" {
			fs.Var(v, "o", "shorthand for --output")
		}
	}
	flags := envconfig.LookuperFunc(func(key string) (string, bool) {
		v, ok := set[key]
		return v, ok
	})
	return envconfig.MultiLookuper(flags, env)
}

func usage(s Setting) string {
	u := s.Help + " [env " + s.Env
	if s.Default != "" {
		u += ", default " + s.Default
	}
	return u + "]"
}

type flagValue struct {
	setting Setting
	set     map[string]string
}

func (v *flagValue) String() string {
	if v == nil || v.set == nil {
		return ""
	}
	if v.setting.Secret {
		return ""
	}
	return v.set[v.setting.Env]
}

func (v *flagValue) Set(s string) error {
	if v.setting.Env == "ORGANIZATIONS" {
		if prev, ok := v.set[v.setting.Env]; ok && prev != "" {
			s = prev + "," + s
		}
	}
	v.set[v.setting.Env] = s
	return nil
}

// IsBoolFlag lets boolean settings be given as a bare --flag.
func (v *flagValue) IsBoolFlag() bool { return v.setting.Bool }

// MapLookuper returns a lookuper over KEY=VALUE pairs (an environment
// list such as os.Environ()).
func MapLookuper(environ []string) envconfig.Lookuper {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return envconfig.MapLookuper(m)
}

// Markdown renders the settings as the tables of docs/configuration.md.
func Markdown() string {
	var b strings.Builder
	groups := map[string][]Setting{}
	var order []string
	for _, s := range Settings() {
		if _, ok := groups[s.Group]; !ok {
			order = append(order, s.Group)
		}
		groups[s.Group] = append(groups[s.Group], s)
	}
	for _, g := range order {
		fmt.Fprintf(&b, "\n### %s\n\n| Environment | Flag | Default | Meaning |\n|---|---|---|---|\n", g)
		for _, s := range groups[g] {
			def := s.Default
			if def == "" {
				def = "—"
			} else {
				def = "`" + def + "`"
			}
			fmt.Fprintf(&b, "| `%s` | `--%s` | %s | %s |\n", s.Env, s.Flag, def, strings.ReplaceAll(s.Help, "|", "\\|"))
		}
	}
	return b.String()
}

// Envs returns the environment variable names, sorted.
func Envs() []string {
	var out []string
	for _, s := range Settings() {
		out = append(out, s.Env)
	}
	sort.Strings(out)
	return out
}
