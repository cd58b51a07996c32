package quaytest

import (
	"io"

	"github.com/quaymirror/quaymirror/registry/fake"
)

// Seed is the emulator's seed file: the registry content, users and tokens
// of a fake.Seed.
type Seed = fake.Seed

// SeedUser is a user of a Seed.
type SeedUser = fake.SeedUser

// ReadSeed decodes a seed file strictly (unknown keys are errors) and
// validates it, reporting every problem at once (fake.ReadSeed).
func ReadSeed(r io.Reader) (*Seed, error) { return fake.ReadSeed(r) }

// LoadSeed adds a seed to the registry the emulator serves (see
// fake.Registry.Load).
func (e *Emulator) LoadSeed(s *Seed) error { return e.reg.Load(*s) }
