// Command quaymirror mirrors whole Quay organizations. See
// `quaymirror --help` and docs/.
package main
