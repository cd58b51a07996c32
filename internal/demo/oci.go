package demo

import (
	"sort"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/oci/ocitest"
)

// OCISource is a source that is no Quay: go-containerregistry's in-memory
// OCI registry on loopback, holding small images.
type OCISource struct {
	*ocitest.Registry
	Store *ocitest.Store
}

// DefaultOCIRepositories is the demo's OCI registry: the organisation
// (path prefix) platform, and neighbours that are not part of it.
func DefaultOCIRepositories() map[string][]string {
	return map[string][]string{
		"platform/api":        {"1.0", "latest"},
		"platform/web":        {"latest"},
		"platform/tools/cli":  {"v2"},
		"platform-legacy/old": {"latest"},
		"sandbox/scratch":     {"latest"},
	}
}

// StartOCI starts an in-memory OCI registry holding repos (full paths,
// each with its tags). Close stops it.
func StartOCI(repos map[string][]string) (*OCISource, error) {
	reg, err := ocitest.Start(nil)
	if err != nil {
		return nil, err
	}
	s := &OCISource{Registry: reg, Store: ocitest.NewStore(reg.Host)}
	names := make([]string, 0, len(repos))
	for n := range repos {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ns, name, _ := strings.Cut(n, "/")
		if err := s.Store.AddRepository(quaymirror.Repository{Namespace: ns, Name: name, Tags: repos[n]}); err != nil {
			reg.Close()
			return nil, err
		}
	}
	return s, nil
}

// AddDestinationOrg creates an organisation with the demo's robot at the
// destination, for a source other than the demo's Quay.
func (e *Env) AddDestinationOrg(name string) error {
	if err := e.Destination.Fake.AddOrganization(name); err != nil {
		return err
	}
	return e.Destination.Fake.AddRobot(name, RobotShortName)
}

// OCIEnviron returns the environment that mirrors orgs of the OCI
// registry src (anonymously) into the demo's destination, followed by
// extra KEY=VALUE pairs (which win).
func (e *Env) OCIEnviron(src *OCISource, orgs []string, extra ...string) []string {
	return e.Environ(append([]string{"SOURCE_TYPE=oci", "SOURCE_REGISTRY=" + src.URL, "SOURCE_TOKEN=",
		"ORGANIZATIONS=" + strings.Join(orgs, ",")}, extra...)...)
}
