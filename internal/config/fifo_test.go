//go:build unix

package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A FIFO, a device or a socket where a token, a credential or the CA
// bundle should be is refused at once: opening a FIFO for reading waits
// for a writer, so the run would hang before its first request.
func TestSpecialFilesAreRefusedWithoutWaiting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokens, creds := filepath.Join(dir, "tokens"), filepath.Join(dir, "creds")
	must(t, os.Mkdir(tokens, 0o700))
	must(t, os.Mkdir(creds, 0o700))
	must(t, syscall.Mkfifo(filepath.Join(tokens, "internal-docker-io"), 0o600))
	must(t, os.WriteFile(filepath.Join(creds, "quay_username"), []byte("svc-pull"), 0o600))
	must(t, syscall.Mkfifo(filepath.Join(creds, "quay_password"), 0o600))
	fifo := filepath.Join(dir, "ca.pem")
	must(t, syscall.Mkfifo(fifo, 0o600))
	// A symbolic link to a regular file, as a mounted Secret has, is read.
	must(t, os.WriteFile(filepath.Join(dir, "real-token"), []byte(dstToken), 0o600))

	cases := []struct {
		setting string
		change  map[string]string
		drop    []string
	}{
		{"SOURCE_TOKENS_DIR", map[string]string{"SOURCE_TOKENS_DIR": tokens}, []string{"SOURCE_TOKEN"}},
		{"QUAY_CREDENTIALS_DIR", map[string]string{"QUAY_CREDENTIALS_DIR": creds}, []string{"QUAY_USERNAME", "QUAY_PASSWORD"}},
		{"CA_BUNDLE", map[string]string{"CA_BUNDLE": fifo}, nil},
		{"CA_BUNDLE", map[string]string{"CA_BUNDLE": "/dev/zero"}, nil},
	}
	for _, tc := range cases {
		env := validEnv()
		for _, k := range tc.drop {
			delete(env, k)
		}
		for k, v := range tc.change {
			env[k] = v
		}
		_, err := load(t, env, NeedSync)
		var ce *Error
		if !errors.As(err, &ce) || ce.Setting != tc.setting {
			t.Errorf("%v: err = %v, want an error about %s", tc.change, err, tc.setting)
			continue
		}
		if !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%v: %v does not say why", tc.change, err)
		}
	}

	linked := filepath.Join(dir, "linked")
	must(t, os.Mkdir(linked, 0o700))
	must(t, os.Symlink(filepath.Join(dir, "real-token"), filepath.Join(linked, "internal-docker-io")))
	must(t, os.Symlink(filepath.Join(dir, "real-token"), filepath.Join(linked, "acic-mirror")))
	env := validEnv()
	delete(env, "DESTINATION_TOKEN")
	env["DESTINATION_TOKENS_DIR"] = linked
	r, err := load(t, env, NeedSync)
	if err != nil {
		t.Fatalf("a token file behind a symbolic link: %v", err)
	}
	if r.Orgs[0].DestinationToken.Reveal() != dstToken {
		t.Error("the token behind the link was not read")
	}
}
