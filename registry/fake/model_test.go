package fake_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

func names(p quaymirror.RepositoryPage) []string {
	var out []string
	for _, r := range p.Repositories {
		out = append(out, r.Namespace+"/"+r.Name)
	}
	return out
}

// A listing shows what its user reaches: everything in an organisation it
// administers, what it has a permission on, the public repositories when
// asked; without a namespace, every organisation's, in name order.
func TestListRepositoriesAs(t *testing.T) {
	t.Parallel()
	r := fake.New(fake.WithPageSize(2))
	noErr(t, r.AddUser("alice", false))
	noErr(t, r.AddUser("bob", false))
	for _, repo := range []quaymirror.Repository{
		{Namespace: "beta", Name: "b1", Visibility: quaymirror.Public},
		{Namespace: "acme", Name: "a1"},
		{Namespace: "acme", Name: "a2", Visibility: quaymirror.Public},
		{Namespace: "acme", Name: "a3"},
		{Namespace: "beta", Name: "b2"},
	} {
		noErr(t, r.AddRepository(repo))
	}
	noErr(t, r.SetOrgRole("acme", "alice", fake.OrgAdmin))
	noErr(t, r.GrantPermission("acme", "a3", "bob", quaymirror.RoleRead))
	walk := func(l fake.Listing, ns string) []string {
		var out []string
		tok := ""
		for range 10 {
			p, err := r.ListRepositoriesAs(t.Context(), l, ns, tok)
			noErr(t, err)
			out = append(out, names(p)...)
			if tok = p.Next; tok == "" {
				return out
			}
		}
		t.Fatal("the listing does not end")
		return nil
	}
	for _, tc := range []struct {
		name string
		l    fake.Listing
		ns   string
		want []string
	}{
		{"admin", fake.Listing{User: "alice"}, "acme", []string{"acme/a1", "acme/a2", "acme/a3"}},
		{"permission", fake.Listing{User: "bob"}, "acme", []string{"acme/a3"}},
		{"permission and public", fake.Listing{User: "bob", Public: true}, "acme", []string{"acme/a2", "acme/a3"}},
		{"anonymous", fake.Listing{}, "acme", nil},
		{"every organisation's public", fake.Listing{Public: true}, "", []string{"acme/a2", "beta/b1"}},
		{"all", fake.Listing{All: true}, "", []string{"acme/a1", "acme/a2", "acme/a3", "beta/b1", "beta/b2"}},
	} {
		if got := walk(tc.l, tc.ns); !equalStrings(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Operations act for the user their context names.
func TestAsUser(t *testing.T) {
	t.Parallel()
	r := fake.New()
	noErr(t, r.AddOrganization("acme"))
	noErr(t, r.AddOrganization("beta"))
	noErr(t, r.AddUser("alice", false))
	noErr(t, r.SetOrgRole("acme", "alice", fake.OrgCreator))
	ctx := fake.AsUser(t.Context(), "alice")
	noErr(t, r.CreateRepository(ctx, quaymirror.Repository{Namespace: "acme", Name: "app", Visibility: quaymirror.Private}))
	if role := r.Permission("acme", "app", "alice"); role != quaymirror.RoleAdmin {
		t.Errorf("alice has %q on what she created, want admin", role)
	}
	u, err := r.CurrentUser(ctx)
	if err != nil || u.Username != "alice" || !equalStrings(u.Organizations, []string{"acme"}) {
		t.Errorf("CurrentUser = %+v, %v", u, err)
	}
	o, err := r.GetOrganization(ctx, "acme")
	if err != nil || o.IsAdmin || !o.IsMember {
		t.Errorf("GetOrganization(acme) = %+v, %v; want a member, not an admin", o, err)
	}
	if o, _ := r.GetOrganization(t.Context(), "beta"); !o.IsAdmin {
		t.Error("the registry's own user does not administer beta")
	}
	if u, _ := r.CurrentUser(t.Context()); u.Username != "quaymirror" || len(u.Organizations) != 2 {
		t.Errorf("own CurrentUser = %+v", u)
	}
	if err := r.SetPermission(t.Context(), "acme", "app", "nobody", quaymirror.RoleRead); !errors.Is(err, quaymirror.ErrInvalid) {
		t.Errorf("a permission for an unknown user: %v, want ErrInvalid", err)
	}
}

// UpdateMirrorInOrder keeps what was applied before a refused field;
// UpdateMirror applies nothing then. Both name the refused field.
func TestUpdateMirrorInOrder(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, inOrder := range []bool{true, false} {
		r := fake.New()
		noErr(t, r.AddRobot("acme", "mirror"))
		noErr(t, r.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "app"}))
		cfg := quaymirror.MirrorConfig{Enabled: true, ExternalReference: "src.example.com/acme/app", SyncInterval: time.Hour,
			SyncStartDate: start, TagGlobs: []string{"*"}, Robot: "acme+mirror", VerifyTLS: true}
		noErr(t, r.CreateMirror(t.Context(), "acme", "app", cfg))
		changed := cfg
		changed.Enabled, changed.Robot, changed.SyncInterval = false, "acme+ghost", 2*time.Hour
		fields := []quaymirror.Field{quaymirror.FieldEnabled, quaymirror.FieldRobot, quaymirror.FieldSyncInterval}
		update := r.UpdateMirror
		if inOrder {
			update = r.UpdateMirrorInOrder
		}
		err := update(t.Context(), "acme", "app", changed, fields)
		var refused *fake.Error
		if !errors.As(err, &refused) || refused.Field != quaymirror.FieldRobot || !errors.Is(err, quaymirror.ErrRobotNotFound) {
			t.Fatalf("in order %v: %v, want a refusal of the robot", inOrder, err)
		}
		m, _ := r.Mirror("acme", "app")
		if m.Config.Enabled == inOrder || m.Config.SyncInterval != time.Hour || m.Config.Robot != "acme+mirror" {
			t.Errorf("in order %v: enabled %v, interval %s, robot %s", inOrder, m.Config.Enabled, m.Config.SyncInterval, m.Config.Robot)
		}
		if n := r.Calls()[fake.OpUpdateMirror]; n != 1 {
			t.Errorf("%d UpdateMirror calls counted, want 1", n)
		}
	}
}

// PrepareMirrorRobot checks the robot and grants it write, nothing else.
func TestPrepareMirrorRobot(t *testing.T) {
	t.Parallel()
	r := fake.New()
	noErr(t, r.AddRobot("acme", "mirror"))
	noErr(t, r.AddRobot("beta", "mirror"))
	noErr(t, r.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "app"}))
	noErr(t, r.PrepareMirrorRobot(t.Context(), "acme", "app", "acme+mirror"))
	if role := r.Permission("acme", "app", "acme+mirror"); role != quaymirror.RoleWrite {
		t.Errorf("robot has %q, want write", role)
	}
	if err := r.PrepareMirrorRobot(t.Context(), "acme", "app", "beta+mirror"); !errors.Is(err, quaymirror.ErrInvalid) {
		t.Errorf("a robot of another organisation: %v, want ErrInvalid", err)
	}
	if _, ok := r.Mirror("acme", "app"); ok {
		t.Error("PrepareMirrorRobot stored a mirror")
	}
}

// An enforced source policy refuses what Quay's SSRF checks refuse.
func TestSourcePolicy(t *testing.T) {
	t.Parallel()
	r := fake.New(fake.WithSourcePolicy(fake.SourcePolicy{Enforce: true, AllowedHosts: []string{"10.1.0.0/16", "quay.internal"}}))
	noErr(t, r.AddRobot("acme", "mirror"))
	i := 0
	for ref, want := range map[string]error{
		"quay.example.com/acme/app":  nil,
		"10.1.2.3:8443/acme/app":     nil,
		"quay.internal/acme/app":     nil,
		"127.0.0.1:5000/acme/app":    quaymirror.ErrSourceNotAllowed,
		"10.2.0.1/acme/app":          quaymirror.ErrSourceNotAllowed,
		"other.internal/acme/app":    quaymirror.ErrSourceNotAllowed,
		"https://quay.example.com/x": quaymirror.ErrInvalid,
		"quay.example.com":           quaymirror.ErrInvalid,
	} {
		i++
		name := fmt.Sprintf("r%d", i)
		noErr(t, r.AddRepository(quaymirror.Repository{Namespace: "acme", Name: name}))
		err := r.CreateMirror(t.Context(), "acme", name, quaymirror.MirrorConfig{ExternalReference: ref, TagGlobs: []string{"*"}, Robot: "acme+mirror"})
		if (want == nil) != (err == nil) || (want != nil && !errors.Is(err, want)) {
			t.Errorf("%s: %v, want %v", ref, err, want)
		}
	}
	if err := r.CheckReference("host.invalid/a/b", true); !errors.Is(err, quaymirror.ErrInvalid) {
		t.Errorf("an unresolvable host with resolve: %v, want ErrInvalid", err)
	}
	if err := r.CheckReference("host.invalid/a/b", false); err != nil {
		t.Errorf("an unresolvable host without resolve: %v, want nil", err)
	}
}

// A token's caller has the user's roles capped by the token's scopes.
func TestCallerPermissions(t *testing.T) {
	t.Parallel()
	r := fake.New()
	noErr(t, r.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "app"}))
	noErr(t, r.AddUser("alice", false))
	noErr(t, r.AddUser("root", true))
	noErr(t, r.SetOrgRole("acme", "alice", fake.OrgAdmin))
	noErr(t, r.AddToken(fake.Token{Token: "full", User: "alice", Scopes: fake.AllScopes()}))
	noErr(t, r.AddToken(fake.Token{Token: "read", User: "alice", Scopes: []string{fake.ScopeRepoRead}}))
	noErr(t, r.AddToken(fake.Token{Token: "root", User: "root", Scopes: []string{fake.ScopeSuperUser}}))
	noErr(t, r.AddToken(fake.Token{Token: "old", User: "alice", Scopes: fake.AllScopes(), Expired: true}))
	if err := r.AddToken(fake.Token{Token: "x", User: "alice", Scopes: []string{"repo:everything"}}); err == nil {
		t.Error("a token with an unknown scope was added")
	}
	full, read, root := r.Authenticate("full"), r.Authenticate("read"), r.Authenticate("root")
	for _, tc := range []struct {
		name string
		got  bool
		want bool
	}{
		{"full token administers", full.Can(quaymirror.RoleAdmin, "acme", "app", false), true},
		{"full token is org admin", full.IsOrgAdmin("acme"), true},
		{"read token reads", read.Can(quaymirror.RoleRead, "acme", "app", false), true},
		{"read token cannot write", read.Can(quaymirror.RoleWrite, "acme", "app", false), false},
		{"read token cannot create", read.CanCreate("acme"), false},
		{"anonymous reads public", r.Authenticate("").Can(quaymirror.RoleRead, "acme", "app", true), true},
		{"anonymous cannot read private", r.Authenticate("nope").Can(quaymirror.RoleRead, "acme", "app", false), false},
		{"expired token is anonymous", r.Authenticate("old").Anonymous(), true},
		{"superuser without full access", root.Can(quaymirror.RoleAdmin, "acme", "app", false), false},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	r.SetSuperusersFullAccess(true)
	if !r.Authenticate("root").Can(quaymirror.RoleAdmin, "acme", "app", false) {
		t.Error("superuser with full access cannot administer")
	}
	r.RevokeToken("full")
	if !r.Authenticate("full").Anonymous() {
		t.Error("a revoked token still authenticates")
	}
}

// Read-only mode refuses every write; broken credentials make the mirror
// unreadable until the username is set again.
func TestReadOnlyAndBrokenCredentials(t *testing.T) {
	t.Parallel()
	r := fake.New()
	noErr(t, r.AddRobot("acme", "mirror"))
	noErr(t, r.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "app"}))
	cfg := quaymirror.MirrorConfig{Enabled: true, ExternalReference: "src.example.com/acme/app", Username: "puller",
		TagGlobs: []string{"*"}, Robot: "acme+mirror"}
	noErr(t, r.CreateMirror(t.Context(), "acme", "app", cfg))

	r.SetReadOnly(true)
	if caps, _ := r.Capabilities(t.Context()); !caps.ReadOnly {
		t.Error("Capabilities does not report read-only mode")
	}
	if err := r.SyncNow(t.Context(), "acme", "app"); !errors.Is(err, quaymirror.ErrReadOnly) {
		t.Errorf("a write in read-only mode: %v, want ErrReadOnly", err)
	}
	if _, err := r.GetMirror(t.Context(), "acme", "app"); err != nil {
		t.Errorf("a read in read-only mode: %v", err)
	}
	r.SetReadOnly(false)

	noErr(t, r.BreakCredentials("acme", "app"))
	if _, err := r.GetMirror(t.Context(), "acme", "app"); !errors.Is(err, quaymirror.ErrUnavailable) {
		t.Errorf("GetMirror with broken credentials: %v, want ErrUnavailable", err)
	}
	noErr(t, r.UpdateMirror(t.Context(), "acme", "app", cfg, []quaymirror.Field{quaymirror.FieldUsername}))
	if _, err := r.GetMirror(t.Context(), "acme", "app"); err != nil {
		t.Errorf("GetMirror after the username was set again: %v", err)
	}
}

// The model's checks carry Quay's messages.
func TestQuayMessages(t *testing.T) {
	t.Parallel()
	r := fake.New()
	noErr(t, r.AddOrganization("acme"))
	var refused *fake.Error
	err := r.CheckMirrorField("acme", quaymirror.MirrorConfig{ArchitectureFilter: []string{"mips", "amd64", "arm", "mips"}}, quaymirror.FieldArchitectureFilter)
	if !errors.As(err, &refused) || refused.Message != "Invalid architectures: arm, mips" || refused.Field != quaymirror.FieldArchitectureFilter {
		t.Errorf("architectures: %v", err)
	}
	_, err = r.CreateRobot(t.Context(), "acme", "Bad_Name", "")
	if !errors.As(err, &refused) || refused.Message != "The name for the robot 'Bad_Name' is invalid: Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$" {
		t.Errorf("robot name: %v", err)
	}
}
