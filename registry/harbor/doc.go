// Package harbor is a quaymirror source over Harbor's v2.0 REST API: a
// Harbor project is the source organisation.
//
// ListRepositories pages GET /api/v2.0/projects/{project}/repositories by
// page and page_size, following the Link header (X-Total-Count where a
// proxy dropped it), sorted by repository id so that repositories pushed
// during a walk come last instead of shifting the pages (Harbor before
// 2.5 ignores sort and lists newest first: a push during a walk can then
// repeat a repository, which the engine reports as a restarted listing,
// and the next run is clean). Harbor names repositories with their
// project ("library/nginx"); the listing strips it, so that the mirrors
// pull from <harbor host>/<project>/<repository>. Listings carry the
// description, and no state or visibility (visibility is the project's).
//
// Credentials are Basic: a robot account ("robot$<project>+<name>", with
// the list and pull permissions on the project's repositories) or a user;
// WithToken sends an OIDC ID token as a Bearer instead. Without
// credentials the client is anonymous, which reads public projects only.
// Harbor does not refuse bad credentials: it treats the request as
// anonymous, so a private project answers 401. Its error bodies
// ({"errors":[{"code","message"}]}) become *Error values unwrapping to
// quaymirror's sentinels.
//
// The client implements quaymirror.Source, quaymirror.TagLister (the
// project's artifacts with their tags: each tag's digest is its
// artifact's, its change time the tag's push time),
// quaymirror.Authenticator (GET /api/v2.0/users/current; a robot, for
// which Harbor answers 412, is checked against the registry's /v2/),
// quaymirror.OrganizationReader (the project) and quaymirror.Adviser.
// registry/harbor/harbortest emulates the server.
package harbor
