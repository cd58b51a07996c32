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
// Tags carry the digest of the manifest they point at and when they last
// changed ([quaymirror.TagLister]). A tag given by name alone (in
// Repository.Tags, [Registry.SetTags], a Seed's tags) points at
// [TagDigest] of its name, so the same name seeded in two registries is
// the same image; [Registry.PushTags] and a Seed's tag_details set other
// digests and times.
//
// Tests seed it with [Registry.AddOrganization], [Registry.AddRobot],
// [Registry.AddRepository], [Registry.PutMirror] or [Registry.Load] (a
// [Seed], the JSON form the Quay emulator's seed files use), inspect it
// with [Registry.Repository] and [Registry.Mirror] (which, unlike GetMirror,
// include the password), count calls with [Registry.Calls] and
// [Registry.Writes], and inject failures or block calls with
// [Registry.FailOn] and [Registry.SetHook]. [Registry.SyncMirrors] plays
// Quay's mirror worker: due mirrors take their source's selected tags
// (read through a [MirrorSource], such as another Registry's
// [Registry.ServedAt]) with their digests, and their status moves as
// Quay's would.
//
// Backends that keep their state in a Registry but serve it their own way,
// like the Quay API emulator in registry/quay/quaytest, use
// [Registry.Track] so their operations are counted, hooked and failed like
// the registry's own, and the O(1)/O(page) accessors
// ([Registry.RepositoryRange], [Registry.Robot], [Registry.Logs], ...) to
// read it.
package fake
