// Command step-ca runs smallstep's online CA from the libraries Debian ships
// in golang-github-smallstep-certificates-dev (0.19), which has no
// cmd/step-ca of its own: upstream's `step-ca` with the software key manager
// (keys in files) and no cloud KMS or CAS. Options go before the config file:
//
//	step-ca --password-file issuing.pass ca.json
//
// Build in GOPATH mode (the package's sources live under /usr/share/gocode):
//
//	GO111MODULE=off GOPATH=$HOME/go:/usr/share/gocode go build -o step-ca .
package main

import (
	"fmt"
	"os"

	"github.com/smallstep/certificates/commands"
	"github.com/urfave/cli"

	// Registered by their init: the CA service signs with keys in files.
	_ "github.com/smallstep/certificates/cas/softcas"
	_ "github.com/smallstep/certificates/kms/softkms"
)

func main() {
	app := cli.NewApp()
	app.Name = "step-ca"
	app.HelpName = "step-ca"
	app.Usage = "an online certificate authority"
	app.UsageText = "step-ca [--password-file FILE] CONFIG"
	app.Flags = commands.AppCommand.Flags
	app.Action = commands.AppCommand.Action
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
