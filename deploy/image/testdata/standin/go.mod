// A stand-in for the quaymirror module, for image tests run where
// ./cmd/quaymirror is absent: same module path, version variable and
// `version` output, nothing else.
module github.com/quaymirror/quaymirror

go 1.26.0
