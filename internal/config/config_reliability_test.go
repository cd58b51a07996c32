package config

import (
	"strings"
	"testing"
)

// A registry setting that is refused is named in the error without what
// could be a credential in it: user information, query or fragment.
func TestRegistryErrorsShowNoCredentials(t *testing.T) {
	t.Parallel()
	for _, v := range []string{
		"https://user:S3CRET@quay example.com",
		"user:S3CRET@quay.example.com",
		"S3CRET@quay.example.com",
		"https://user:S3CRET@quay.example.com/api/v1",
		"quay.example.com/x?token=S3CRET",
		"https://quay.example.com/?token=S3CRET",
		"https://quay.example.com/#S3CRET",
		"ftp://S3CRET@quay.example.com",
	} {
		env := validEnv()
		env["SOURCE_REGISTRY"] = v
		_, err := load(t, env, NeedSync)
		if err == nil || !strings.HasPrefix(err.Error(), "SOURCE_REGISTRY: ") {
			t.Errorf("%s: err = %v, want SOURCE_REGISTRY refused", v, err)
			continue
		}
		if strings.Contains(err.Error(), "S3CRET") {
			t.Errorf("%s: the error shows the credential: %v", v, err)
		}
	}
}
