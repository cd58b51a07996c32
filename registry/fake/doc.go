// Package fake is the in-memory model of Quay: the one place where
// quaymirror writes down how Quay behaves. Tests use it directly as a
// backend, the demo and SDK users try a policy on it without a server, and
// the Quay API emulator (registry/quay/quaytest) serves it over HTTP,
// adding only what is HTTP- or version-specific.
//
// A [Registry] is split by concern:
//
//   - repositories (repositories.go): paged listings as a user sees them
//     ([Listing]: Quay's filter_to_repos_for_user), reads, creation,
//     state changes; an unknown namespace lists as empty, an unknown page
//     token restarts the listing;
//   - mirrors (mirrors.go): configurations, their validation and how a
//     change applies (the one implementation of it: [Registry.CreateMirror]
//     and [Registry.UpdateMirror] all or nothing,
//     [Registry.UpdateMirrorInOrder] field after field as Quay before its
//     2026 hardening), sync-now and cancel with Quay's refusals, the
//     mirror events; the password is write-only; where mirrors may pull
//     from is a [SourcePolicy] (Quay's SSRF checks), enforced on demand;
//   - accounts (accounts.go): organisations, users and their roles
//     ([OrgRole], what Quay's teams give), robots, repository
//     permissions;
//   - tags (tags.go): each tag points at a manifest digest and has a change
//     time ([quaymirror.TagLister]); a tag given by name alone (in
//     Repository.Tags, [Registry.SetTags], a Seed's tags) points at
//     [TagDigest] of its name, so the same name seeded in two registries is
//     the same image;
//   - the mirror worker (worker.go): [Registry.SyncMirrors] plays Quay's
//     repository mirror worker: due mirrors copy their source's selected
//     tags with their digests (read through a [MirrorSource], such as
//     another Registry's [Registry.ServedAt]) and their status moves as
//     Quay's would.
//
// It implements quaymirror.Destination, every optional capability and
// [quaymirror.TagLister], and passes registry/registrytest.
//
// Operations (the methods of the capability interfaces, and the few more an
// emulator needs: [Registry.ListRepositoriesAs], [Registry.UpdateMirrorInOrder],
// [Registry.PrepareMirrorRobot], [Registry.UpdateDescription],
// [Registry.ListAllTags]) act for the registry's own user, who administers
// every organisation, or for the user their context names ([AsUser]). Each
// is counted ([Registry.Calls], [Registry.Writes]), runs the hook of
// [Registry.SetHook] with its namespace and repository name, can be made
// to fail with [Registry.FailOn], and is atomic. A refusal is an [*Error]
// carrying Quay's message and wrapping a quaymirror sentinel.
//
// Seeding and inspection helpers ([Registry.AddOrganization],
// [Registry.AddRobot], [Registry.AddRepository], [Registry.PutMirror],
// [Registry.PushTags], [Registry.Load] of a [Seed], the JSON form the Quay
// emulator's seed files use; [Registry.Repository], [Registry.Mirror],
// [Registry.Tags], ...) are the test's hands: they bypass hooks, failures
// and counting, and seed any situation, inconsistent ones included.
package fake
