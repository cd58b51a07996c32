package quaytest

// Request and response schemas, per version, written from the facts of
// quay-api.md and Quay's endpoints/api/*.py (hand-written, not copied).

func str(desc string) *schema     { return &schema{Type: typ("string"), Description: desc} }
func strNull(desc string) *schema { return &schema{Type: typ("string", "null"), Description: desc} }
func boolean(desc string) *schema { return &schema{Type: typ("boolean"), Description: desc} }

// mirrorProperties are common_properties of endpoints/api/mirror.py for
// version v, in declaration order.
func mirrorProperties(v Version) []prop {
	registryConfig := []prop{
		{"verify_tls", boolean("Determines whether HTTPs is required and the certificate is verified when communicating with the external repository.")},
	}
	if v.unsignedImages() {
		registryConfig = append(registryConfig, prop{"unsigned_images", boolean("Determines whether the image signature will be verified when pulling from the external repository.")})
	}
	registryConfig = append(registryConfig, prop{"proxy", object("Proxy configuration for use during synchronization.", nil,
		prop{"https_proxy", strNull("Value for HTTPS_PROXY environment variable during sync.")},
		prop{"http_proxy", strNull("Value for HTTP_PROXY environment variable during sync.")},
		prop{"no_proxy", strNull("Value for NO_PROXY environment variable during sync.")},
	)})
	rc := object("", nil, registryConfig...)
	props := []prop{
		{"is_enabled", boolean("Used to enable or disable synchronizations.")},
		{"external_reference", str("Location of the external repository.")},
		{"external_registry_username", strNull("Username used to authenticate with external registry.")},
		{"external_registry_password", strNull("Password used to authenticate with external registry.")},
		{"sync_start_date", str("Determines the next time this repository is ready for synchronization.")},
		{"sync_interval", &schema{Type: typ("integer"), Minimum: minimum(0), Description: "Number of seconds after next_start_date to begin synchronizing."}},
		{"robot_username", str("Username of robot which will be used for image pushes.")},
		{"root_rule", object("A list of glob-patterns used to determine which tags should be synchronized.", []string{"rule_kind", "rule_value"},
			prop{"rule_kind", &schema{Type: typ("string"), Description: "The kind of rule type", Enum: []any{"tag_glob_csv"}}},
			prop{"rule_value", &schema{Type: typ("array"), Description: "Array of tag patterns", Items: &schema{Type: typ("string")}}},
		)},
		{"external_registry_config", rc},
	}
	if v.skopeoTimeout() {
		props = append(props, prop{"skopeo_timeout_interval", &schema{Type: typ("integer"), Minimum: minimum(300), Description: "Number of seconds mirroring job will run before timing out."}})
	}
	if v.architectureFilter() {
		props = append(props, prop{"architecture_filter", &schema{Type: typ("array", "null"), Items: &schema{Type: typ("string")},
			Description: "List of architectures to mirror from multi-arch images. Empty array or null means mirror all architectures. Valid values: amd64, arm64, ppc64le, s390x."}})
	}
	return props
}

func createMirrorSchema(v Version) *schema {
	req := []string{"external_reference", "sync_interval", "sync_start_date", "root_rule"}
	if v.skopeoTimeout() {
		req = append(req, "skopeo_timeout_interval")
	}
	s := object("Create the repository mirroring configuration.", req, mirrorProperties(v)...)
	if v.strictCreateMirror() {
		no := false
		s.AdditionalProperties = &no
	}
	return s
}

func updateMirrorSchema(v Version) *schema {
	return object("Update the repository mirroring configuration.", nil, mirrorProperties(v)...)
}

func viewMirrorSchema(v Version) *schema {
	req := []string{"is_enabled", "mirror_type", "external_reference", "external_registry_username",
		"external_registry_config", "sync_interval", "sync_start_date", "sync_expiration_date",
		"sync_retries_remaining", "sync_status", "root_rule", "robot_username"}
	if v.skopeoTimeout() {
		req = append(req, "skopeo_timeout_interval")
	}
	if v.architectureFilter() {
		req = append(req, "architecture_filter")
	}
	return object("View the repository mirroring configuration.", req, mirrorProperties(v)...)
}

func newRepoSchema(v Version) *schema {
	kinds := []any{"image", nil}
	if v.applicationRepos() {
		kinds = []any{"image", "application", nil}
	}
	return object("Description of a new repository", []string{"repository", "visibility", "description"},
		prop{"repository", str("Repository name")},
		prop{"visibility", &schema{Type: typ("string"), Description: "Visibility which the repository will start with", Enum: []any{"public", "private"}}},
		prop{"namespace", str("Namespace in which the repository should be created. If omitted, the username of the caller is used")},
		prop{"description", str("Markdown encoded description for the repository")},
		prop{"repo_kind", &schema{Type: typ("string", "null"), Description: "The kind of repository", Enum: kinds}},
	)
}

func changeStateSchema() *schema {
	return object("Change the state of the repository.", []string{"state"},
		prop{"state", &schema{Type: typ("string"), Description: "Determines whether pushes are allowed.", Enum: []any{"NORMAL", "READ_ONLY", "MIRROR"}}})
}

func repoUpdateSchema() *schema {
	return object("Fields which can be updated in a repository.", []string{"description"},
		prop{"description", str("Markdown encoded description for the repository")})
}

func createRobotSchema() *schema {
	d := str("Optional text description for the robot")
	d.MaxLength = maxLength(255)
	return object("Optional data for creating a robot", nil,
		prop{"description", d},
		prop{"unstructured_metadata", &schema{Type: typ("object"), Description: "Optional unstructured metadata for the robot"}})
}

func userPermissionSchema() *schema {
	return object("Description of a user permission.", []string{"role"},
		prop{"role", &schema{Type: typ("string"), Description: "Role to use for the user", Enum: []any{"read", "write", "admin"}}})
}

func apiErrorSchema() *schema {
	return object("", []string{"status", "type", "title"},
		prop{"status", &schema{Type: typ("integer"), Description: "Status code of the response."}},
		prop{"type", str("Reference to the type of the error.")},
		prop{"detail", str("Details about the specific instance of the error.")},
		prop{"title", str("Unique error code to identify the type of error.")},
		prop{"error_message", str("Deprecated; alias for detail")},
		prop{"error_type", str("Deprecated; alias for detail")},
	)
}

func userViewSchema() *schema {
	return object("Describes a user", []string{"anonymous", "avatar"},
		prop{"verified", boolean("Whether the user's email address has been verified")},
		prop{"anonymous", boolean("true if this user data represents a guest user")},
		prop{"email", str("The user's email address")},
		prop{"avatar", &schema{Type: typ("object"), Description: "Avatar data representing the user's icon"}},
		prop{"organizations", &schema{Type: typ("array"), Description: "Information about the organizations in which the user is a member", Items: &schema{Type: typ("object")}}},
		prop{"logins", &schema{Type: typ("array"), Description: "The list of external login providers against which the user has authenticated", Items: &schema{Type: typ("object")}}},
		prop{"can_create_repo", boolean("Whether the user has permission to create repositories")},
		prop{"preferred_namespace", boolean("If true, the user's namespace is the preferred namespace to display")},
	)
}

// definitions returns every request schema of version v by name.
func definitions(v Version) map[string]*schema {
	return map[string]*schema{
		"CreateMirrorConfig": createMirrorSchema(v),
		"UpdateMirrorConfig": updateMirrorSchema(v),
		"ViewMirrorConfig":   viewMirrorSchema(v),
		"NewRepo":            newRepoSchema(v),
		"ChangeRepoState":    changeStateSchema(),
		"RepoUpdate":         repoUpdateSchema(),
		"CreateRobot":        createRobotSchema(),
		"UserPermission":     userPermissionSchema(),
		"ApiError":           apiErrorSchema(),
		"UserView":           userViewSchema(),
	}
}
