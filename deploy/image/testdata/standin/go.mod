// A stand-in for the quaymirror module, for the image builder's tests: a
// version variable and quaymirror's `version` output, nothing else. Its
// module path is its own (the tests set its version variable by name).
module quaymirror.invalid/standin

go 1.26.0
