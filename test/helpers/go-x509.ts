/**
 * Go's crypto/x509 as an independent checker: the strict parser that Caddy,
 * Traefik and most Go services use to read client certificates. A small Go
 * program (stdlib only, no network) is written to a temporary directory and
 * compiled once per test process; each check runs the binary on PEM files.
 *
 *   const go = goX509(t);            // skips (or fails under CI) without `go`
 *   if (!go) return;
 *   const r = go.verify({ rootPem, leafPem, usage: 'clientAuth' });
 *   assert.ok(r.verified, r.error);
 *   const c = go.verifyCrl({ issuerPem: rootPem, crlPem });  // ParseRevocationList + CheckSignatureFrom
 *   assert.ok(c.verified, c.error);
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { tempDir } from './cli';
import { requireTool } from './tools';

export type GoUsage = 'clientAuth' | 'serverAuth' | 'codeSigning' | 'emailProtection' | 'any';

export interface GoVerifyInput {
  /** The trust anchor (PEM). */
  rootPem: string;
  /** Intermediate CA certificates (PEM, one or several blocks); default none. */
  intermediatesPem?: string;
  /** The certificate to check (PEM). */
  leafPem: string;
  /** The extended key usage the chain must allow; default clientAuth. */
  usage?: GoUsage;
  /** Verification time; default now. */
  at?: Date;
  /** DNS name to check against the leaf's SANs (x509.VerifyOptions.DNSName); default none. */
  dnsName?: string;
}

export interface GoVerifyResult {
  /** x509.ParseCertificate accepted every certificate. */
  parsed: boolean;
  /** leaf.Verify succeeded for the usage. */
  verified: boolean;
  /** Go's error text when parsed or verified is false. */
  error?: string;
  /** What Go read from the leaf, when it parsed. */
  subject?: string;
  publicKeyAlgorithm?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
}

export interface GoCrlInput {
  /** The certificate of the CA that signed the CRL (PEM). */
  issuerPem: string;
  /** The CRL (PEM). */
  crlPem: string;
}

export interface GoCrlResult {
  /** x509.ParseCertificate and x509.ParseRevocationList accepted both. */
  parsed: boolean;
  /** crl.CheckSignatureFrom(issuer) succeeded. */
  verified: boolean;
  /** Go's error text when parsed or verified is false. */
  error?: string;
  /** The CRL's signature algorithm as Go names it (SHA256-RSA, ECDSA-SHA384...), when it parsed. */
  signatureAlgorithm?: string;
  /** The revoked serials, lowercase hex without leading zeros, when it parsed. */
  revokedSerials?: string[];
}

const PROGRAM = `package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"time"
)

type result struct {
	Parsed             bool
	Verified           bool
	Error              string
	Subject            string
	PublicKeyAlgorithm string
	DNSNames           []string
	IPAddresses        []string
}

func (r result) emit() {
	json.NewEncoder(os.Stdout).Encode(map[string]interface{}{
		"parsed": r.Parsed, "verified": r.Verified, "error": r.Error, "subject": r.Subject,
		"publicKeyAlgorithm": r.PublicKeyAlgorithm, "dnsNames": r.DNSNames, "ipAddresses": r.IPAddresses,
	})
}

func certs(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func pemDER(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("no PEM in %s", path)
	}
	return block.Bytes, nil
}

// args: crl issuer.pem crl.pem
func checkCrl() {
	out := map[string]interface{}{"parsed": false, "verified": false}
	defer func() { json.NewEncoder(os.Stdout).Encode(out) }()
	fail := func(err error) { out["error"] = err.Error() }
	issuerDER, err := pemDER(os.Args[2])
	if err != nil {
		fail(err)
		return
	}
	issuer, err := x509.ParseCertificate(issuerDER)
	if err != nil {
		fail(err)
		return
	}
	crlDER, err := pemDER(os.Args[3])
	if err != nil {
		fail(err)
		return
	}
	crl, err := x509.ParseRevocationList(crlDER)
	if err != nil {
		fail(err)
		return
	}
	out["parsed"] = true
	out["signatureAlgorithm"] = crl.SignatureAlgorithm.String()
	serials := []string{}
	for _, entry := range crl.RevokedCertificates {
		serials = append(serials, fmt.Sprintf("%x", entry.SerialNumber))
	}
	out["revokedSerials"] = serials
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		fail(err)
		return
	}
	out["verified"] = true
}

func main() {
	if os.Args[1] == "crl" {
		checkCrl()
		return
	}
	// args: root.pem intermediates.pem leaf.pem usage unix-seconds dns-name
	r := result{}
	defer func() { r.emit() }()
	roots, err := certs(os.Args[1])
	if err == nil && len(roots) == 0 {
		err = fmt.Errorf("no root certificate")
	}
	var inters, leaves []*x509.Certificate
	if err == nil {
		inters, err = certs(os.Args[2])
	}
	if err == nil {
		leaves, err = certs(os.Args[3])
		if err == nil && len(leaves) != 1 {
			err = fmt.Errorf("want one leaf certificate, got %d", len(leaves))
		}
	}
	if err != nil {
		r.Error = err.Error()
		return
	}
	r.Parsed = true
	leaf := leaves[0]
	r.Subject = leaf.Subject.String()
	r.PublicKeyAlgorithm = leaf.PublicKeyAlgorithm.String()
	r.DNSNames = leaf.DNSNames
	for _, ip := range leaf.IPAddresses {
		r.IPAddresses = append(r.IPAddresses, ip.String())
	}
	usages := map[string]x509.ExtKeyUsage{
		"clientAuth": x509.ExtKeyUsageClientAuth, "serverAuth": x509.ExtKeyUsageServerAuth,
		"codeSigning": x509.ExtKeyUsageCodeSigning, "emailProtection": x509.ExtKeyUsageEmailProtection,
		"any": x509.ExtKeyUsageAny,
	}
	usage, ok := usages[os.Args[4]]
	if !ok {
		r.Error = "unknown usage " + os.Args[4]
		return
	}
	var at int64
	fmt.Sscan(os.Args[5], &at)
	opts := x509.VerifyOptions{Roots: x509.NewCertPool(), Intermediates: x509.NewCertPool(), KeyUsages: []x509.ExtKeyUsage{usage}, CurrentTime: time.Unix(at, 0), DNSName: os.Args[6]}
	for _, c := range roots {
		opts.Roots.AddCert(c)
	}
	for _, c := range inters {
		opts.Intermediates.AddCert(c)
	}
	if _, err := leaf.Verify(opts); err != nil {
		r.Error = err.Error()
		return
	}
	r.Verified = true
}
`;

let compiled: { binary: string; dir: string } | undefined;

function goEnv(dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOCACHE: join(dir, 'gocache'),
    GOPATH: join(dir, 'gopath'),
    GOFLAGS: '-mod=mod',
    GOPROXY: 'off',
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    GO111MODULE: 'on',
  };
}

/** Build the checker once per test process (the standard library compile is the slow part). */
function build(): { binary: string; dir: string } {
  if (compiled) return compiled;
  const dir = tempDir('pocketca-go-x509-');
  const src = join(dir, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'go.mod'), 'module pocketcacheck\n\ngo 1.19\n');
  writeFileSync(join(src, 'main.go'), PROGRAM);
  const binary = join(dir, 'x509check');
  const r = spawnSync('go', ['build', '-o', binary, '.'], { cwd: src, env: goEnv(dir), encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`go build of the x509 checker failed: ${r.stderr}${r.error ?? ''}`);
  }
  // The build cache is no longer needed; the binary is.
  rmSync(join(dir, 'gocache'), { recursive: true, force: true });
  rmSync(join(dir, 'gopath'), { recursive: true, force: true });
  compiled = { binary, dir };
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return compiled;
}

let counter = 0;

export interface GoX509 {
  verify(input: GoVerifyInput): GoVerifyResult;
  /** Parse a CRL and check its signature with the issuer's certificate, as a Go service reading a CRL does. */
  verifyCrl(input: GoCrlInput): GoCrlResult;
}

/** The checker, or undefined when `go` is missing (the test is then skipped; under CI=true it fails). */
export function goX509(t: TestContext): GoX509 | undefined {
  if (!requireTool(t, 'go')) return undefined;
  const { binary, dir } = build();
  /** Run the checker on files made from `texts` in a directory of its own; `args` maps their paths to argv. */
  const run = <T>(texts: Record<string, string>, args: (paths: Record<string, string>) => string[]): T => {
    const runDir = join(dir, `run-${process.pid}-${++counter}`);
    mkdirSync(runDir);
    try {
      const paths: Record<string, string> = {};
      for (const [name, text] of Object.entries(texts)) {
        paths[name] = join(runDir, name);
        writeFileSync(paths[name]!, text);
      }
      const r = spawnSync(binary, args(paths), { encoding: 'utf8', timeout: 60_000 });
      if (r.status !== 0) throw new Error(`the Go x509 checker exited ${r.status}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  };
  return {
    verify(input: GoVerifyInput): GoVerifyResult {
      const at = Math.floor((input.at ?? new Date()).getTime() / 1000);
      return run<GoVerifyResult>(
        { 'root.pem': input.rootPem, 'intermediates.pem': input.intermediatesPem ?? '', 'leaf.pem': input.leafPem },
        (p) => [p['root.pem']!, p['intermediates.pem']!, p['leaf.pem']!, input.usage ?? 'clientAuth', String(at), input.dnsName ?? ''],
      );
    },
    verifyCrl(input: GoCrlInput): GoCrlResult {
      return run<GoCrlResult>({ 'issuer.pem': input.issuerPem, 'crl.pem': input.crlPem }, (p) => ['crl', p['issuer.pem']!, p['crl.pem']!]);
    },
  };
}
