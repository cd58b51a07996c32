package fake

// Op names an operation of the registry, for counting calls, hooks and
// injected failures.
type Op string

// Operations.
const (
	OpListRepositories     Op = "ListRepositories"
	OpGetRepository        Op = "GetRepository"
	OpCreateRepository     Op = "CreateRepository"
	OpChangeState          Op = "ChangeState"
	OpGetMirror            Op = "GetMirror"
	OpCreateMirror         Op = "CreateMirror"
	OpUpdateMirror         Op = "UpdateMirror"
	OpSyncNow              Op = "SyncNow"
	OpCancelSync           Op = "CancelSync"
	OpCurrentUser          Op = "CurrentUser"
	OpGetOrganization      Op = "GetOrganization"
	OpGetRobot             Op = "GetRobot"
	OpCreateRobot          Op = "CreateRobot"
	OpSetPermission        Op = "SetPermission"
	OpCapabilities         Op = "Capabilities"
	OpOrganizationMirrored Op = "OrganizationMirrored"
	OpSyncLogs             Op = "SyncLogs"
	OpListTags             Op = "ListTags"
	OpUpdateDescription    Op = "UpdateDescription"
)

// IsWrite reports whether the operation changes the registry.
func (op Op) IsWrite() bool {
	switch op {
	case OpCreateRepository, OpChangeState, OpCreateMirror, OpUpdateMirror,
		OpSyncNow, OpCancelSync, OpCreateRobot, OpSetPermission, OpUpdateDescription:
		return true
	}
	return false
}
