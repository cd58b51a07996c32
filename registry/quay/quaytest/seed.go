package quaytest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

// Seed is the emulator's seed file: the registry content of fake.Seed
// ("organizations") plus the users and the tokens that act for them.
//
//	{
//	  "users": [{"name": "admin", "organizations": {"*": "admin"}}],
//	  "tokens": [{"token": "s3cret", "user": "admin",
//	              "scopes": ["repo:admin", "repo:create", "org:admin", "user:read"]}],
//	  "organizations": [{
//	    "name": "acme",
//	    "robots": [{"name": "mirror"}],
//	    "repositories": [
//	      {"name": "app", "visibility": "public", "tags": ["v1", "latest"]},
//	      {"name": "team/tool", "state": "MIRROR", "mirror": {
//	        "external_reference": "quay.example.com/acme/team/tool",
//	        "sync_interval": 3600, "sync_start_date": "2026-01-01T00:00:00Z",
//	        "root_rule": {"rule_kind": "tag_glob_csv", "rule_value": ["*"]},
//	        "robot_username": "acme+mirror", "sync_status": "SUCCESS"}}
//	    ]
//	  }]
//	}
type Seed struct {
	fake.Seed
	Users  []SeedUser `json:"users,omitempty"`
	Tokens []Token    `json:"tokens,omitempty"`
}

// SeedUser is a user of a Seed.
type SeedUser struct {
	Name      string `json:"name"`
	Superuser bool   `json:"superuser,omitempty"`
	// Organizations maps organisation names, or "*" for every
	// organisation, to the user's role there.
	Organizations map[string]OrgRole `json:"organizations,omitempty"`
}

// ReadSeed decodes a seed file strictly (unknown keys are errors) and
// validates it, reporting every problem at once.
func ReadSeed(r io.Reader) (*Seed, error) {
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	var s Seed
	if err := d.Decode(&s); err != nil {
		return nil, fmt.Errorf("quaytest: seed: %w", err)
	}
	if d.More() {
		return nil, errors.New("quaytest: seed: data after the JSON document")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Validate checks the registry content (fake.Seed.Validate), the users'
// names and roles, and that every token names a known user and known
// scopes.
func (s *Seed) Validate() error {
	var errs []error
	if err := s.Seed.Validate(); err != nil {
		errs = append(errs, err)
	}
	users := map[string]bool{}
	for i, u := range s.Users {
		if !quaymirror.ValidNamespace(u.Name) {
			errs = append(errs, fmt.Errorf("users[%d]: invalid user name %q", i, u.Name))
		}
		if users[u.Name] {
			errs = append(errs, fmt.Errorf("users[%d]: user %q listed twice", i, u.Name))
		}
		users[u.Name] = true
		for org, role := range u.Organizations {
			if role.Rank() == 0 {
				errs = append(errs, fmt.Errorf("users[%d]: role %q in %q is not member, creator or admin", i, role, org))
			}
			if org != AllOrganizations && !quaymirror.ValidNamespace(org) {
				errs = append(errs, fmt.Errorf("users[%d]: invalid organization name %q", i, org))
			}
		}
	}
	tokens := map[string]bool{}
	for i, t := range s.Tokens {
		if t.Token == "" {
			errs = append(errs, fmt.Errorf("tokens[%d]: empty token", i))
		}
		if tokens[t.Token] {
			errs = append(errs, fmt.Errorf("tokens[%d]: token listed twice", i))
		}
		tokens[t.Token] = true
		if !users[t.User] {
			errs = append(errs, fmt.Errorf("tokens[%d]: unknown user %q", i, t.User))
		}
		for _, sc := range t.Scopes {
			if !knownScope(sc) {
				errs = append(errs, fmt.Errorf("tokens[%d]: unknown scope %q", i, sc))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("quaytest: invalid seed: %w", errors.Join(errs...))
	}
	return nil
}

// LoadSeed adds a seed to the emulator: its content to the registry (see
// fake.Registry.Load), then its users, roles and tokens. The seed is
// validated first.
func (e *Emulator) LoadSeed(s *Seed) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if err := e.reg.Load(s.Seed); err != nil {
		return err
	}
	for _, u := range s.Users {
		if err := e.AddUser(u.Name, u.Superuser); err != nil {
			return err
		}
		for org, role := range u.Organizations {
			if err := e.SetOrgRole(org, u.Name, role); err != nil {
				return err
			}
		}
	}
	for _, t := range s.Tokens {
		if err := e.AddToken(t); err != nil {
			return err
		}
	}
	return nil
}
