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

func main() {
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
}

/** The checker, or undefined when `go` is missing (the test is then skipped; under CI=true it fails). */
export function goX509(t: TestContext): GoX509 | undefined {
  if (!requireTool(t, 'go')) return undefined;
  const { binary, dir } = build();
  return {
    verify(input: GoVerifyInput): GoVerifyResult {
      const run = join(dir, `run-${process.pid}-${++counter}`);
      mkdirSync(run);
      try {
        const file = (name: string, text: string) => {
          const path = join(run, name);
          writeFileSync(path, text);
          return path;
        };
        const at = Math.floor((input.at ?? new Date()).getTime() / 1000);
        const args = [file('root.pem', input.rootPem), file('intermediates.pem', input.intermediatesPem ?? ''), file('leaf.pem', input.leafPem), input.usage ?? 'clientAuth', String(at), input.dnsName ?? ''];
        const r = spawnSync(binary, args, { encoding: 'utf8', timeout: 60_000 });
        if (r.status !== 0) throw new Error(`the Go x509 checker exited ${r.status}: ${r.stderr}`);
        return JSON.parse(r.stdout) as GoVerifyResult;
      } finally {
        rmSync(run, { recursive: true, force: true });
      }
    },
  };
}
