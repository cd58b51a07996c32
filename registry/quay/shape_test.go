package quay

import "github.com/quaymirror/quaymirror/quaymirror"

// fallbackShape is the mirror request schema of Quay 3.6 (no skopeo
// timeout, no architecture filter, no unsigned_images), set as a client's
// discovery by tests that skip the discovery round trip. (The client once
// fell back to it when discovery could not be read; it no longer does.)
func fallbackShape() *discovery {
	leaf := func() *schemaNode { return &schemaNode{} }
	props := func() map[string]*schemaNode {
		return map[string]*schemaNode{
			"is_enabled":                 leaf(),
			"external_reference":         leaf(),
			"external_registry_username": leaf(),
			"external_registry_password": leaf(),
			"sync_start_date":            leaf(),
			"sync_interval":              leaf(),
			"robot_username":             leaf(),
			"root_rule": {Properties: map[string]*schemaNode{
				"rule_kind": leaf(), "rule_value": leaf(),
			}, Required: []string{"rule_kind", "rule_value"}},
			"external_registry_config": {Properties: map[string]*schemaNode{
				"verify_tls": leaf(),
				"proxy": {Properties: map[string]*schemaNode{
					"http_proxy": leaf(), "https_proxy": leaf(), "no_proxy": leaf(),
				}},
			}},
		}
	}
	return &discovery{
		caps: quaymirror.Capabilities{RepositoryMirroring: true},
		create: &schemaNode{Properties: props(),
			Required: []string{"external_reference", "sync_interval", "sync_start_date", "root_rule"}},
		update: &schemaNode{Properties: props()},
	}
}
