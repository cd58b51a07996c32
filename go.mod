module github.com/quaymirror/quaymirror

go 1.26.0

require (
	github.com/hashicorp/go-hclog v1.6.3
	golang.org/x/time v0.16.0
)

require (
	github.com/fatih/color v1.13.0 // indirect
	github.com/h2non/gock v1.2.0 // indirect
	github.com/h2non/parth v0.0.0-20190131123155-b4df798d6542 // indirect
	github.com/mattn/go-colorable v0.1.12 // indirect
	github.com/mattn/go-isatty v0.0.14 // indirect
	github.com/sethvargo/go-envconfig v1.4.3 // indirect
	golang.org/x/sys v0.0.0-20220503163025-988cb79eb6c6 // indirect
)
