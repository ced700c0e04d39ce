/**
 * An online issuing CA run by a real engine, under an intermediate that
 * pocketca signed: `openssl ca` (a database in index.txt, revocation and
 * CRLs) and `cfssl serve` (the HTTP signing API, on 127.0.0.1).
 *
 *   const online = opensslCa(dir);               // key + CSR made by openssl
 *   ca.ok(['sign', online.csr, '--profile', 'intermediate', '--out', online.cert]);
 *   const leaf = online.issue('alice', 'client');
 *   online.revoke(leaf.cert); online.crl(path);
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { openssl } from './cli';
import { freePort, waitFor } from './servers';

export interface Leaf {
  cert: string;
  key: string;
}

export interface OpensslCa {
  dir: string;
  key: string;
  csr: string;
  /** Where the test writes the intermediate certificate pocketca signs. */
  cert: string;
  /** A leaf with `openssl req` + `openssl ca`; SANs as openssl writes them, e.g. 'DNS:nas.home.arpa'. */
  issue(name: string, kind: 'client' | 'server', sans?: string[]): Leaf;
  revoke(cert: string): void;
  /** `openssl ca -gencrl` to `out` (PEM), valid for `days`. */
  crl(out: string, days?: number): void;
}

function ok(args: string[], what: string): string {
  const r = openssl(args);
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  return r.stdout;
}

/** A fresh `openssl ca` directory with its key (`openssl req -newkey` arguments) and CSR (CN = `cn`); `md` signs its certificates and CRLs. */
export function opensslCa(parent: string, cn = 'Online Issuing CA', keyArgs: string[] = ['-newkey', 'rsa:2048'], md = 'sha256'): OpensslCa {
  const dir = join(parent, 'online-ca');
  mkdirSync(join(dir, 'certs'), { recursive: true });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'crlnumber'), '1000\n');
  const key = join(dir, 'ca.key');
  const csr = join(dir, 'ca.csr');
  const cert = join(dir, 'ca.pem');
  const conf = join(dir, 'openssl.cnf');
  writeFileSync(
    conf,
    `[ ca ]
default_ca = online
[ online ]
dir = ${dir}
database = $dir/index.txt
new_certs_dir = $dir/certs
certificate = ${cert}
private_key = ${key}
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = ${md}
default_days = 30
default_crl_days = 7
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
[ client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
[ server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
authorityKeyIdentifier = keyid
subjectAltName = $ENV::SAN
`,
  );
  ok(['req', '-new', ...keyArgs, '-nodes', '-keyout', key, '-subj', `/CN=${cn}`, '-out', csr], 'online CA CSR');
  ok(['rand', '-hex', '-out', join(dir, 'serial'), '16'], 'serial');
  let n = 0;
  // `openssl ca` with this config; SAN feeds the server extension's subjectAltName ($ENV::SAN).
  const runCa = (args: string[], what: string, san = 'DNS:unused') => {
    const r = spawnSync('openssl', ['ca', '-config', conf, ...args], { env: { ...process.env, SAN: san }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  };
  return {
    dir,
    key,
    csr,
    cert,
    issue(name, kind, sans = []) {
      const base = join(dir, `${name}-${++n}`);
      ok(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${base}.key`, '-subj', `/CN=${name}`, '-out', `${base}.csr`], `CSR for ${name}`);
      runCa(['-batch', '-extensions', kind, '-in', `${base}.csr`, '-out', `${base}.pem`, '-notext'], `openssl ca for ${name}`, sans.join(',') || `DNS:${name}`);
      return { cert: `${base}.pem`, key: `${base}.key` };
    },
    revoke(certPath) {
      runCa(['-revoke', certPath, '-crl_reason', 'keyCompromise'], 'openssl ca -revoke');
    },
    crl(out, days = 7) {
      runCa(['-gencrl', '-crldays', String(days), '-out', out], 'openssl ca -gencrl');
    },
  };
}

export interface CfsslServer {
  url: string;
  /** POST /api/v1/cfssl/sign with a CSR made by openssl; the certificate PEM. */
  sign(csrPem: string): Promise<string>;
}

/** `cfssl serve` on 127.0.0.1 with the intermediate's certificate and key, stopped after the test. */
export async function startCfssl(t: TestContext, dir: string, caCert: string, caKey: string): Promise<CfsslServer> {
  const port = await freePort();
  const config = join(dir, 'cfssl-config.json');
  writeFileSync(config, JSON.stringify({ signing: { default: { expiry: '720h', usages: ['digital signature', 'key encipherment', 'client auth'] } } }));
  const child = spawn('cfssl', ['serve', '-address', '127.0.0.1', '-port', String(port), '-ca', caCert, '-ca-key', caKey, '-config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  t.after(() => {
    child.kill('SIGTERM');
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      try {
        return (await fetch(`${url}/api/v1/cfssl/info`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(2000) })).ok;
      } catch {
        return false;
      }
    },
    'cfssl serve',
    () => log,
  );
  return {
    url,
    async sign(csrPem) {
      const response = await fetch(`${url}/api/v1/cfssl/sign`, { method: 'POST', body: JSON.stringify({ certificate_request: csrPem }), signal: AbortSignal.timeout(10_000) });
      const body = (await response.json()) as { success: boolean; result?: { certificate: string }; errors?: unknown[] };
      assert.ok(body.success && body.result, `cfssl sign: ${JSON.stringify(body.errors)} ${log}`);
      return body.result.certificate;
    },
  };
}
