// Command step-ca-token makes what a JWK provisioner of step-ca needs, with
// step-ca's own libraries (go.step.sm/crypto/jose, go.step.sm/cli-utils): the
// provisioner entry for ca.json, and the JSON bodies, each with a one-time
// token (OTT), that POST /1.0/sign and POST /1.0/revoke take. It stands in
// for `step ca provisioner add`, `step ca token` and `step ca revoke`, since
// Debian does not package the step CLI.
//
//	step-ca-token provisioner -name devices -password-file devices.pass > devices.json
//	step-ca-token sign -config ca.json -name devices -password-file devices.pass \
//	    -ca-url https://ca.home.arpa:9000 -csr alice.csr alice-laptop [SAN...] | curl ... --data @- https://ca.home.arpa:9000/1.0/sign
//	step-ca-token revoke -config ca.json -name devices -password-file devices.pass \
//	    -ca-url https://ca.home.arpa:9000 alice.pem | curl ... --data @- https://ca.home.arpa:9000/1.0/revoke
//
// The password comes from a file, never from argv. A token is valid for five
// minutes and once: step-ca records its ID.
package main

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"

	tokens "go.step.sm/cli-utils/token"
	"go.step.sm/cli-utils/token/provision"
	"go.step.sm/crypto/jose"
	"go.step.sm/crypto/randutil"
)

func password(file string) ([]byte, error) {
	if file == "" {
		return nil, errors.New("-password-file is required")
	}
	b, err := os.ReadFile(file)
	return bytes.TrimRight(b, "\r\n"), err
}

// provisioner prints the JWK provisioner entry for ca.json's authority.provisioners,
// its key encrypted with the password (PBES2, as `step ca provisioner add` does).
func provisioner(name, passFile, template string) error {
	pass, err := password(passFile)
	if err != nil {
		return err
	}
	pub, priv, err := jose.GenerateDefaultKeyPair(pass)
	if err != nil {
		return err
	}
	encrypted, err := priv.CompactSerialize()
	if err != nil {
		return err
	}
	type x509Options struct {
		TemplateFile string `json:"templateFile"`
	}
	type options struct {
		X509 x509Options `json:"x509"`
	}
	entry := struct {
		Type         string           `json:"type"`
		Name         string           `json:"name"`
		Key          *jose.JSONWebKey `json:"key"`
		EncryptedKey string           `json:"encryptedKey"`
		Options      *options         `json:"options,omitempty"`
	}{"JWK", name, pub, encrypted, nil}
	if template != "" {
		entry.Options = &options{x509Options{template}}
	}
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	return out.Encode(entry)
}

// signingKey decrypts the named JWK provisioner's key from step-ca's ca.json.
func signingKey(config, name string, pass []byte) (*jose.JSONWebKey, error) {
	data, err := os.ReadFile(config)
	if err != nil {
		return nil, err
	}
	var ca struct {
		Authority struct {
			Provisioners []struct {
				Type, Name, EncryptedKey string
			}
		}
	}
	if err := json.Unmarshal(data, &ca); err != nil {
		return nil, fmt.Errorf("%s: %w", config, err)
	}
	for _, p := range ca.Authority.Provisioners {
		if strings.EqualFold(p.Type, "JWK") && p.Name == name {
			plain, err := jose.Decrypt([]byte(p.EncryptedKey), jose.WithPassword(pass))
			if err != nil {
				return nil, fmt.Errorf("provisioner %s: %w", name, err)
			}
			key := new(jose.JSONWebKey)
			return key, json.Unmarshal(plain, key)
		}
	}
	return nil, fmt.Errorf("%s has no JWK provisioner named %q", config, name)
}

// token signs a one-time token for `subject` with the audience step-ca expects at `path`, as `step ca token` does.
func token(config, name, passFile, caURL, path, subject string, sans []string) (string, error) {
	pass, err := password(passFile)
	if err != nil {
		return "", err
	}
	key, err := signingKey(config, name, pass)
	if err != nil {
		return "", err
	}
	id, err := randutil.Hex(64)
	if err != nil {
		return "", err
	}
	now := time.Now()
	opts := []tokens.Options{
		tokens.WithJWTID(id),
		tokens.WithKid(key.KeyID),
		tokens.WithIssuer(name),
		tokens.WithAudience(strings.TrimRight(caURL, "/") + path),
		tokens.WithValidity(now, now.Add(5*time.Minute)),
	}
	if len(sans) > 0 {
		opts = append(opts, tokens.WithSANS(sans))
	}
	tok, err := provision.New(subject, opts...)
	if err != nil {
		return "", err
	}
	return tok.SignedString(key.Algorithm, key.Key)
}

// serial is the decimal serial step-ca records: the argument itself when it is
// one, else the serial of the PEM certificate in the file it names.
func serial(arg string) (string, error) {
	if n, ok := new(big.Int).SetString(arg, 10); ok && n.Sign() > 0 {
		return n.String(), nil
	}
	data, err := os.ReadFile(arg)
	if err != nil {
		return "", fmt.Errorf("%s is neither a decimal serial nor a readable certificate: %w", arg, err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return "", fmt.Errorf("%s holds no PEM certificate", arg)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", err
	}
	return cert.SerialNumber.String(), nil
}

func emit(body map[string]interface{}) error {
	return json.NewEncoder(os.Stdout).Encode(body)
}

func main() {
	usage := map[string]string{
		"provisioner": "provisioner -name NAME -password-file FILE [-template FILE]",
		"sign":        "sign -config ca.json -name NAME -password-file FILE -ca-url URL -csr FILE SUBJECT [SAN...]",
		"revoke":      "revoke -config ca.json -name NAME -password-file FILE -ca-url URL [-reason-code N] CERT.pem|SERIAL",
	}
	verb := ""
	if len(os.Args) > 1 {
		verb = os.Args[1]
	}
	if usage[verb] == "" {
		fmt.Fprintln(os.Stderr, "usage: step-ca-token", usage["provisioner"])
		fmt.Fprintln(os.Stderr, "       step-ca-token", usage["sign"])
		fmt.Fprintln(os.Stderr, "       step-ca-token", usage["revoke"])
		os.Exit(2)
	}
	fs := flag.NewFlagSet("step-ca-token "+verb, flag.ExitOnError)
	name := fs.String("name", "", "the JWK provisioner's name")
	passFile := fs.String("password-file", "", "the file holding the password of the provisioner's key")
	config := fs.String("config", "", "step-ca's ca.json, which holds the provisioner's encrypted key")
	caURL := fs.String("ca-url", "", "the CA's URL, https://HOST:PORT with HOST one of its dnsNames")
	template := fs.String("template", "", "the certificate template step-ca applies to this provisioner's certificates")
	csr := fs.String("csr", "", "the PEM certificate request to sign")
	reasonCode := fs.Int("reason-code", 1, "RFC 5280 reason code (1 keyCompromise, 4 superseded, 5 cessationOfOperation)")
	fs.Parse(os.Args[2:])
	args := fs.Args()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "step-ca-token:", err)
		os.Exit(1)
	}
	if *name == "" || *passFile == "" || (verb != "provisioner" && (*config == "" || *caURL == "")) || (verb == "sign" && (*csr == "" || len(args) == 0)) || (verb == "revoke" && len(args) != 1) || (verb == "provisioner" && len(args) != 0) {
		fmt.Fprintln(os.Stderr, "usage: step-ca-token", usage[verb])
		os.Exit(2)
	}
	var err error
	switch verb {
	case "provisioner":
		err = provisioner(*name, *passFile, *template)
	case "sign":
		var pemCSR []byte
		if pemCSR, err = os.ReadFile(*csr); err != nil {
			fail(err)
		}
		var ott string
		if ott, err = token(*config, *name, *passFile, *caURL, "/1.0/sign", args[0], args[1:]); err == nil {
			err = emit(map[string]interface{}{"csr": string(pemCSR), "ott": ott})
		}
	case "revoke":
		// The subject of a revocation token is the serial; step-ca 0.19 revokes passively only
		// (it refuses the certificate's renewal; it publishes no CRL).
		var sn, ott string
		if sn, err = serial(args[0]); err != nil {
			fail(err)
		}
		if ott, err = token(*config, *name, *passFile, *caURL, "/1.0/revoke", sn, nil); err == nil {
			err = emit(map[string]interface{}{"serial": sn, "ott": ott, "reasonCode": *reasonCode, "passive": true})
		}
	}
	if err != nil {
		fail(err)
	}
}
