// Command quaymirror is a stand-in that prints its version.
package main

import (
	"fmt"

	"quaymirror.invalid/standin/internal/version"
)

func main() { fmt.Printf("quaymirror %s\n", version.Version) }
