package harbor

import "github.com/quaymirror/quaymirror/registry/transport"

// Error is a failed request to Harbor (transport.Error, the error of
// every HTTP backend): an answer other than 2xx, an answer that cannot be
// understood, or a transport failure after the retries. It unwraps to the
// quaymirror sentinel that matches (test with errors.Is) and to Err when
// there is one. Code and Message are Harbor's ({"errors":[{"code",
// "message"}]}, the distribution specification's form): its first
// error's. Message never holds a password or token.
type Error = transport.Error
