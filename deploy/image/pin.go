package image

import (
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// Pin sets, in the kustomization (or component) file at path, the
// `images:` entry named name to digest d, drops its newTag (a digest says
// it all), and sets its newName when newName is not empty. Everything else
// in the file, comments and layout included, stays. The entry must exist:
// Pin does not guess where an image belongs.
func Pin(path, name, newName string, d v1.Hash) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	doc, err := kyaml.Parse(string(data))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	entry, err := doc.Pipe(kyaml.Lookup("images"), kyaml.ElementMatcher{Keys: []string{"name"}, Values: []string{name}})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if entry == nil {
		return fmt.Errorf("%s has no images: entry named %s", path, name)
	}
	if err := entry.PipeE(kyaml.SetField("digest", kyaml.NewStringRNode(d.String()))); err != nil {
		return err
	}
	if _, err := entry.Pipe(kyaml.Clear("newTag")); err != nil {
		return err
	}
	if newName != "" {
		if err := entry.PipeE(kyaml.SetField("newName", kyaml.NewStringRNode(newName))); err != nil {
			return err
		}
	}
	out, err := kyaml.MarshalWithOptions(doc.Document(), &kyaml.EncoderOptions{
		SeqIndent: kyaml.SequenceIndentStyle(kyaml.DeriveSeqIndentStyle(string(data))),
	})
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, st.Mode().Perm())
}
