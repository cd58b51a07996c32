// Command quaymirror is a stand-in that prints its version.
package main

import (
	"fmt"

	"github.com/quaymirror/quaymirror/internal/version"
)

func main() { fmt.Printf("quaymirror %s\n", version.Version) }
