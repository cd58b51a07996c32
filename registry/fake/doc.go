// Package fake is an in-memory Quay registry for tests, demos and SDK users
// who want to try a policy without a server.
//
// A [Registry] holds organisations, repositories (with tags, states and
// permissions), robots and mirror configurations, and follows Quay's
// semantics as documented in quay-api.md: creating a mirror configuration
// sets the repository state to MIRROR and fails with ErrAlreadyExists when
// one exists; the password is write-only; sync-now is refused while a
// mirror is SYNCING; an unknown namespace lists as empty; an unknown page
// token restarts the listing; changestate does not check for a mirror
// configuration. It implements quaymirror.Destination and every optional
// capability, and passes registry/registrytest.
//
// Tests seed it with [Registry.AddOrganization], [Registry.AddRobot],
// [Registry.AddRepository], [Registry.PutMirror] or [Registry.Load], inspect
// it with [Registry.Repository] and [Registry.Mirror] (which, unlike
// GetMirror, include the password), count calls with [Registry.Calls] and
// [Registry.Writes], and inject failures or block calls with
// [Registry.FailOn] and [Registry.SetHook].
package fake
