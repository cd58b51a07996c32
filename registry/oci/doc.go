// Package oci is a quaymirror source over any registry that implements
// the OCI distribution specification's catalog (GET /v2/_catalog): the
// CNCF distribution registry, Artifactory, Nexus, GitLab's registry,
// Harbor to its system administrators, and go-containerregistry's
// in-memory registry.
//
// An "organisation" is a repository path prefix: with organisation
// team-a, the registry's repository team-a/app/web is listed as app/web
// (Namespace team-a), and a mirror of it pulls from
// <registry host>/team-a/app/web; team-ab/x is not part of team-a.
// Listings carry names only: a catalog knows no repository state or
// visibility, so both are left empty.
//
// The client pages the catalog as the specification says, by the Link
// header, starting right before the prefix (last=team-a/) and stopping at
// the first repository past it. A registry that ignores last or does not
// sort its catalog (go-containerregistry's in-memory registry) is read
// whole at each page and paged by the client. A registry that refuses its
// catalog (Docker Hub, Quay, Harbor to anyone but a system administrator)
// yields an error wrapping ErrCatalogRefused, which says what to use
// instead.
//
// Authentication follows the registry's WWW-Authenticate challenge: Basic
// (the user name and password, to the registry itself), or Bearer, where
// the credentials (or none, anonymously) are exchanged at the challenge's
// realm for a token of the scope the request needs (registry:catalog:*
// for the catalog, repository:<name>:pull for tags), kept until it
// expires. WithToken sends a token the caller already holds instead.
//
// The client implements quaymirror.Source, quaymirror.TagLister (tags/list
// with each tag's manifest digest read by a HEAD request; registries keep
// no change time), quaymirror.Authenticator (a GET /v2/ with the
// credentials) and quaymirror.Adviser. It is built on registry/transport:
// retries with Retry-After, debug logging without secrets, the user agent,
// size caps and TLS.
package oci
