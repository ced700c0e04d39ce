/**
 * What every proxy test starts from: a CA with a server certificate for
 * localhost/127.0.0.1 and a few client identities with their keys, a second
 * CA whose client must be refused, and openssl to make the one thing pocketca
 * refuses to make (a CRL that has already expired).
 */
import { createHmac } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createTestCa, openssl, type TestCa } from './cli';

export interface Client {
  name: string;
  cert: string;
  key: string;
  /** Lowercase hex, as pocketca records it. */
  serial: string;
}

export interface ProxyFixture {
  ca: TestCa;
  caPem: string;
  server: { cert: string; key: string };
  clients: Record<string, Client>;
  /** Another CA, and a client of it. */
  other: TestCa;
  stranger: Client;
}

const P12_ENV = { POCKETCA_P12_PASSWORD: 'test-p12-password' };

export function issueClient(ca: TestCa, name: string): Client {
  const r = ca.ok(['issue', name, '--keep-key', '--no-mobileconfig', '--json'], { env: P12_ENV });
  const issued = JSON.parse(r.stdout) as { serial: string; files: Record<string, string> };
  return { name, cert: join(ca.out, `${name}.pem`), key: join(ca.out, `${name}.key.pem`), serial: issued.serial };
}

/** `initArgs` go to the CA's `init` (e.g. --key-type ec); the server certificate names localhost and 127.0.0.1. */
export function proxyFixture(t: TestContext, clientNames: string[], initArgs: string[] = []): ProxyFixture {
  const ca = createTestCa(initArgs);
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'proxy', '--profile', 'server', '--dns', 'localhost', '--ip', '127.0.0.1']);
  const clients = Object.fromEntries(clientNames.map((n) => [n, issueClient(ca, n)]));
  const other = createTestCa(['--name', 'Some Other CA']);
  t.after(() => other.cleanup());
  return {
    ca,
    caPem: join(ca.home, 'ca.pem'),
    server: { cert: join(ca.out, 'proxy.pem'), key: join(ca.out, 'proxy.key.pem') },
    clients,
    other,
    stranger: issueClient(other, 'stranger'),
  };
}

/** curl arguments presenting a client identity and trusting the CA. */
export const as = (f: ProxyFixture, client?: Client): string[] => ['--cacert', f.caPem, ...(client ? ['--cert', client.cert, '--key', client.key] : [])];

const opensslTime = (d: Date): string => d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';

/**
 * A CRL signed by the CA's key with openssl (openssl ca -gencrl, a v1 CRL
 * without extensions), listing `revoked` (lowercase hex serials), written to `out`.
 */
export function writeOpensslCrl(ca: TestCa, out: string, opts: { revoked?: string[]; lastUpdate: Date; nextUpdate: Date }): void {
  const dir = join(ca.dir, 'openssl-ca');
  mkdirSync(dir, { recursive: true });
  const at = opensslTime(opts.lastUpdate).slice(2);
  const index = (opts.revoked ?? []).map((s) => `R\t301231000000Z\t${at}\t${(s.length % 2 ? '0' + s : s).toUpperCase()}\tunknown\t/CN=x\n`);
  writeFileSync(join(dir, 'index.txt'), index.join(''));
  writeFileSync(join(dir, 'crlnumber'), '1000\n');
  writeFileSync(join(dir, 'ca.cnf'), `[ca]\ndefault_ca = d\n[d]\ndatabase = ${dir}/index.txt\ncrlnumber = ${dir}/crlnumber\ndefault_md = sha256\n`);
  const r = openssl([
    'ca', '-batch', '-config', join(dir, 'ca.cnf'), '-gencrl',
    '-keyfile', join(ca.home, 'ca.key.pem'), '-passin', `file:${ca.passFile}`, '-cert', join(ca.home, 'ca.pem'),
    '-crl_lastupdate', opensslTime(opts.lastUpdate), '-crl_nextupdate', opensslTime(opts.nextUpdate),
    '-out', out,
  ]);
  if (r.code !== 0) throw new Error(`openssl ca -gencrl failed: ${r.stderr}`);
}

/**
 * Replace the home's crl.pem with one signed by the same CA key whose
 * nextUpdate passed yesterday: what a proxy holds when nobody re-signed the
 * CRL in time.
 */
export function writeExpiredCrl(ca: TestCa): void {
  const day = 86_400_000;
  writeOpensslCrl(ca, join(ca.home, 'crl.pem'), { lastUpdate: new Date(Date.now() - 2 * day), nextUpdate: new Date(Date.now() - day) });
}

/** A WebSocket token (version 2: bound to the server name) computed here with Node's HMAC, independently of the njs and Lua code. */
export function websocketToken(secret: string, serverName: string, serial: string, expiry: number, name = '__Host-pocketca_ws'): string {
  const mac = createHmac('sha256', secret).update(`pocketca-ws-v2|${serverName}|${serial}|${expiry}`).digest('hex');
  return `${name}=${serial}.${expiry}.${mac}`;
}

/** The Set-Cookie value's parts: name, serial, expiry, mac and the attributes. */
export function parseSetCookie(header: string): { name: string; serial: string; expiry: number; mac: string; attributes: string[] } {
  const [pair, ...attributes] = header.split(';').map((s) => s.trim());
  const m = /^([^=]+)=([0-9a-f]+)\.(\d+)\.([0-9a-f]{64})$/.exec(pair!);
  if (!m) throw new Error(`unexpected Set-Cookie: ${header}`);
  return { name: m[1]!, serial: m[2]!, expiry: Number(m[3]), mac: m[4]!, attributes };
}
