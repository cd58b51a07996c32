// Package harbortest emulates the part of Harbor's v2.0 API that
// registry/harbor reads, for tests and demonstrations: an http.Handler
// behind an emulation.Front (request counts by route, injected faults),
// with its state (projects, repositories, artifacts and their tags,
// users, robot accounts) in memory.
//
// It is written from Harbor's published API definition
// (api/v2.0/swagger.yaml: paths, parameters, headers, the Errors body)
// and from what Harbor's handlers do, as docs/harbor.md lists: a missing
// project is a project without permissions (401 to anonymous, 403 to a
// user or robot, 404 to a system administrator only), rejected Basic
// credentials are treated as anonymous, users/current answers 412 to a
// robot, page_size above 100 is refused with 422, Link headers join
// prev and next with " , ", repositories are named with their project,
// and a repository name in a path is encoded twice.
//
// The emulator is a registrytest.SourceStore: AddOrganization creates a
// private project, AddRepository a repository whose tags point at
// artifacts of their own, PushTags adds or moves tags with their digests
// and push times.
package harbortest
