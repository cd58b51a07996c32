package harbor_test

import (
	"github.com/quaymirror/quaymirror/registry/emulation"
	"github.com/quaymirror/quaymirror/registry/harbor/harbortest"
)

func emulationFault500() emulation.Fault {
	return emulation.Fault{Kind: emulation.FaultStatus, Route: "GET " + harbortest.RouteCurrentUser, Status: 500}
}
