package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// Scenario is one measured configuration.
type Scenario struct {
	// Repos is the number of repositories in the source organisation.
	Repos int `json:"repos"`
	// Concurrency is the engine's concurrency (CONCURRENCY).
	Concurrency int `json:"concurrency"`
	// QPS is the request rate allowed to each registry (QPS); 0 means no
	// limit.
	QPS float64 `json:"qps"`
	// Mirrored: the destination starts as a first run leaves it (made
	// without a rate limit and not measured), so no first run is
	// measured: what a large organisation's steady state needs without
	// the 40 minutes of writes of its first run at 25 requests/s.
	Mirrored bool `json:"mirrored,omitempty"`
	// Ticks: after the runs, a repository is added at the source and a
	// mirror changed by hand, and K consecutive incremental ticks run
	// (without a rate limit): every mirror must be read once, the new
	// repository created on the first tick, the changed mirror repaired
	// on its slice's tick (see Coverage).
	Ticks bool `json:"ticks,omitempty"`
}

// String is the scenario's notation, e.g. "5000x32@100", "5000x8" or
// "20000x8@25/mirrored/ticks".
func (s Scenario) String() string {
	out := strconv.Itoa(s.Repos) + "x" + strconv.Itoa(s.Concurrency)
	if s.QPS > 0 {
		out += "@" + strconv.FormatFloat(s.QPS, 'g', -1, 64)
	}
	if s.Mirrored {
		out += "/mirrored"
	}
	if s.Ticks {
		out += "/ticks"
	}
	return out
}

// MaxRepos bounds a scenario's repositories: beyond it a run takes hours
// at any realistic latency.
const MaxRepos = 1_000_000

// ParseScenario reads REPOSxCONCURRENCY[@QPS][/mirrored][/ticks], e.g.
// "5000x32@100": 5,000 repositories, 32 at once, 100 requests per second
// to each registry. No @QPS (or @0) means no rate limit. /mirrored and
// /ticks are Scenario.Mirrored and Scenario.Ticks.
func ParseScenario(s string) (Scenario, error) {
	bad := func(format string, args ...any) (Scenario, error) {
		return Scenario{}, fmt.Errorf("scenario %q: %s (want REPOSxCONCURRENCY[@QPS][/mirrored][/ticks], e.g. 5000x32@100)", s, fmt.Sprintf(format, args...))
	}
	base, mods, hasMods := strings.Cut(strings.TrimSpace(s), "/")
	var sc Scenario
	if hasMods {
		for m := range strings.SplitSeq(mods, "/") {
			switch m {
			case "mirrored":
				sc.Mirrored = true
			case "ticks":
				sc.Ticks = true
			default:
				return bad("unknown modifier %q", m)
			}
		}
	}
	spec, qps, hasQPS := strings.Cut(base, "@")
	repos, conc, ok := strings.Cut(spec, "x")
	if !ok {
		return bad("no x")
	}
	var err error
	if sc.Repos, err = strconv.Atoi(repos); err != nil || sc.Repos < 1 || sc.Repos > MaxRepos {
		return bad("repositories must be a number from 1 to %d", MaxRepos)
	}
	if sc.Concurrency, err = strconv.Atoi(conc); err != nil || sc.Concurrency < 1 || sc.Concurrency > 256 {
		return bad("concurrency must be a number from 1 to 256")
	}
	if hasQPS {
		if sc.QPS, err = strconv.ParseFloat(qps, 64); err != nil || sc.QPS < 0 || sc.QPS > 1e6 || sc.QPS != sc.QPS {
			return bad("QPS must be a number from 0 to 1e6")
		}
	}
	return sc, nil
}

// ParseScenarios reads a comma-separated list of scenarios.
func ParseScenarios(s string) ([]Scenario, error) {
	var out []Scenario
	for f := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		sc, err := ParseScenario(f)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no scenario in %q", s)
	}
	return out, nil
}
