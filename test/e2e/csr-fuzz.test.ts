/**
 * Hostile CSRs: a mutation fuzzer (fixed seed, so a failure replays) feeds
 * 1,200 mutated CSRs, PEM and DER, to `sign` in-process, and 48 more through
 * the real binary. The properties:
 *   - never an exception other than a usage error (exit 2), never a crash;
 *   - never a certificate for a CSR whose signature openssl does not verify,
 *     and every certificate carries the CSR's own key and verifies with the CA;
 *   - nothing is recorded for a refused CSR;
 *   - the subject of every certificate is one CN, and Go's crypto/x509 (the
 *     strictest parser at hand) parses and verifies each one the binary issues.
 * Mutations work on the four fixtures in test/fixtures/csr (no key is made per
 * case): bit flips, byte edits, cuts, insertions, DER length and tag edits,
 * swapped signatures, keys and algorithm identifiers, and PEM text damage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppContext } from '../../src/host/context';
import { CaHome } from '../../src/host/home';
import { signCsr } from '../../src/app/sign-csr';
import { PocketcaError } from '../../src/errors';
import { createTestCa, openssl, PASSPHRASE, ROOT, type TestCa } from '../helpers/cli';
import { requireTool } from '../helpers/tools';
import { goX509 } from '../helpers/go-x509';
import { withDatabase } from '../helpers/guarantees';

const FIXTURES = ['rsa-2048-sans.csr.pem', 'rsa-2048-server.csr.der', 'ec-p256.csr.der', 'ed25519.csr.pem'];

function fixtureDers(): Buffer[] {
  return FIXTURES.map((file) => {
    const bytes = readFileSync(join(ROOT, 'test', 'fixtures', 'csr', file));
    return file.endsWith('.pem') ? pemBody(bytes.toString('latin1'))! : bytes;
  });
}

/** The first CERTIFICATE REQUEST block, decoded by the test itself (RFC 7468 §2, lax about whitespace). */
function pemBody(text: string): Buffer | undefined {
  const m = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]*?)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(text);
  return m ? Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64') : undefined;
}

/** mulberry32: a small PRNG with a fixed seed, so every run mutates alike. */
class Rng {
  constructor(private state: number) {}
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Buffer {
    return Buffer.from(Array.from({ length: n }, () => this.int(256)));
  }
}

interface Tlv {
  start: number;
  header: number;
  end: number;
}

/** One TLV at `pos`, or undefined where the bytes are not one (lenient: this is for choosing where to mutate). */
function readOne(der: Buffer, pos: number, to: number): Tlv | undefined {
  if (pos + 2 > to) return undefined;
  let len = der[pos + 1]!;
  let header = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || pos + 2 + n > to) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[pos + 2 + i]!;
    header += n;
  }
  return pos + header + len > to ? undefined : { start: pos, header, end: pos + header + len };
}

function childrenOf(der: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = parent.start + parent.header, c = readOne(der, pos, parent.end); c; pos = c.end, c = readOne(der, pos, parent.end)) out.push(c);
  return out;
}

/** Every TLV a DER buffer holds, depth first, looking into constructed values, BIT and OCTET STRINGs. */
function tlvs(der: Buffer, from = 0, to = der.length, out: Tlv[] = []): Tlv[] {
  for (let pos = from, t = readOne(der, pos, to); t; pos = t.end, t = readOne(der, pos, to)) {
    out.push(t);
    const tag = der[t.start]!;
    const body = t.start + t.header;
    if (tag & 0x20 || tag === 0x04) tlvs(der, body, t.end, out);
    else if (tag === 0x03 && t.end - body > 1 && der[body] === 0) tlvs(der, body + 1, t.end, out);
  }
  return out;
}

const splice = (d: Buffer, at: number, remove: number, insert: Buffer = Buffer.alloc(0)) => Buffer.concat([d.subarray(0, at), insert, d.subarray(at + remove)]);

/** CertificationRequest ::= SEQUENCE { info SEQUENCE { version, subject, spki, attributes }, algorithm, signature } */
const outerOf = (d: Buffer): Tlv | undefined => readOne(d, 0, d.length);

/** A random TLV of `d`, or undefined when an earlier mutation left none. */
function anyTlv(d: Buffer, r: Rng): Tlv | undefined {
  const all = tlvs(d);
  return all.length ? r.pick(all) : undefined;
}

type Mutator = (d: Buffer, r: Rng, others: Buffer[]) => Buffer;

const MUTATORS: Record<string, Mutator> = {
  flipBit: (d, r) => {
    const out = Buffer.from(d);
    const i = r.int(out.length);
    out[i] = out[i]! ^ (1 << r.int(8));
    return out;
  },
  setByte: (d, r) => {
    const out = Buffer.from(d);
    out[r.int(out.length)] = r.int(256);
    return out;
  },
  boundaryByte: (d, r) => {
    const out = Buffer.from(d);
    out[r.int(out.length)] = r.pick([0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xff]);
    return out;
  },
  truncate: (d, r) => d.subarray(0, r.int(d.length + 1)),
  append: (d, r) => Buffer.concat([d, r.bytes(1 + r.int(16))]),
  insert: (d, r) => splice(d, r.int(d.length), 0, r.bytes(1 + r.int(8))),
  deleteRange: (d, r) => splice(d, r.int(d.length), 1 + r.int(16)),
  duplicateRange: (d, r) => {
    const at = r.int(d.length);
    return splice(d, at, 0, d.subarray(at, at + 1 + r.int(32)));
  },
  lengthPlusMinus: (d, r) => {
    const t = anyTlv(d, r);
    if (!t) return d;
    const out = Buffer.from(d);
    const at = t.start + t.header - 1;
    out[at] = (out[at]! + r.pick([1, -1, 2, -2, 0x40])) & 0xff;
    return out;
  },
  hugeLength: (d, r) => {
    const t = anyTlv(d, r);
    if (!t) return d;
    return splice(d, t.start + 1, t.header - 1, r.pick([Buffer.from([0x84, 0x7f, 0xff, 0xff, 0xff]), Buffer.from([0x80]), Buffer.from([0x85, 1, 0, 0, 0, 0]), Buffer.from([0x81, 0x05])]));
  },
  changeTag: (d, r) => {
    const t = anyTlv(d, r);
    if (!t) return d;
    const out = Buffer.from(d);
    out[t.start] = r.pick([0x30, 0x31, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0xa0, 0xa3, 0x1f, 0xff]);
    return out;
  },
  dropElement: (d, r) => {
    const t = anyTlv(d, r);
    if (!t) return d;
    return splice(d, t.start, t.end - t.start);
  },
  repeatElement: (d, r) => {
    const t = anyTlv(d, r);
    if (!t) return d;
    return splice(d, t.end, 0, d.subarray(t.start, t.end));
  },
  // Well-formed forgeries: another request's signature, or another key under this signature.
  swapSignature: (d, r, others) => replaceChild(d, 'outer', 2, r.pick(others)),
  swapKey: (d, r, others) => replaceChild(d, 'info', 2, r.pick(others)),
  swapAlgorithm: (d, r, others) => replaceChild(d, 'outer', 1, r.pick(others)),
  changeAlgorithm: (d, r) => {
    // sha256WithRSA <-> sha512WithRSA / ecdsa-with-SHA256 / Ed25519 / sha1WithRSA / md5WithRSA.
    const oids = ['2a864886f70d01010b', '2a864886f70d01010d', '2a8648ce3d040302', '2b6570', '2a864886f70d010105', '2a864886f70d010104'].map((h) => Buffer.from(h, 'hex'));
    const outer = outerOf(d);
    const alg = outer ? childrenOf(d, outer)[1] : undefined;
    if (!alg) return d;
    const replacement = r.pick(oids);
    const algorithm = sequence([Buffer.from([0x06, replacement.length]), replacement, ...(r.next() < 0.5 ? [Buffer.from([0x05, 0x00])] : [])]);
    return sequence([d.subarray(childrenOf(d, outer!)[0]!.start, childrenOf(d, outer!)[0]!.end), algorithm, d.subarray(childrenOf(d, outer!)[2]?.start ?? d.length, childrenOf(d, outer!)[2]?.end ?? d.length)]);
  },
  editSubject: (d, r) => {
    const at = d.indexOf(Buffer.from('fuzz'));
    if (at < 0) return d;
    const out = Buffer.from(d);
    out.write(r.pick(['FUZZ', 'f\u0000zz', '../x', '\u001b[2J']).slice(0, 4), at, 'latin1');
    return out;
  },
  empty: () => Buffer.alloc(0),
  deepNesting: (d, r) => {
    const depth = 20 + r.int(200);
    return Buffer.concat([...Array.from({ length: depth }, () => Buffer.from([0x30, 0x80])), d]);
  },
};

function sequence(children: Buffer[]): Buffer {
  const body = Buffer.concat(children);
  const len = body.length;
  const header = len < 0x80 ? [0x30, len] : len < 0x100 ? [0x30, 0x81, len] : [0x30, 0x82, len >> 8, len & 0xff];
  return Buffer.concat([Buffer.from(header), body]);
}

/** `d` with child `index` of its outer SEQUENCE or of its info replaced by the same child of `donor`, lengths re-encoded. */
function replaceChild(d: Buffer, where: 'outer' | 'info', index: number, donor: Buffer): Buffer {
  const parts = (x: Buffer) => {
    const outer = outerOf(x);
    const top = outer ? childrenOf(x, outer) : [];
    const info = top[0] ? childrenOf(x, top[0]) : [];
    return { top: top.map((t) => x.subarray(t.start, t.end)), info: info.map((t) => x.subarray(t.start, t.end)) };
  };
  const mine = parts(d);
  const theirs = parts(donor);
  const list = where === 'outer' ? mine.top : mine.info;
  const replacement = (where === 'outer' ? theirs.top : theirs.info)[index];
  if (!replacement || list.length <= index || mine.top.length !== 3) return d;
  list[index] = replacement;
  return sequence([sequence(mine.info), ...mine.top.slice(1)]);
}

const toPem = (label: string, der: Buffer, eol = '\n') =>
  `-----BEGIN ${label}-----${eol}${(der.toString('base64').match(/.{1,64}/g) ?? []).join(eol)}${eol}-----END ${label}-----${eol}`;

type PemMutator = (der: Buffer, r: Rng, original: Buffer) => string;
const PEM_MUTATORS: Record<string, PemMutator> = {
  plain: (der) => toPem('CERTIFICATE REQUEST', der),
  newLabel: (der) => toPem('NEW CERTIFICATE REQUEST', der),
  crlf: (der) => toPem('CERTIFICATE REQUEST', der, '\r\n'),
  wrongLabel: (der, r) => toPem(r.pick(['CERTIFICATE', 'PRIVATE KEY', 'X509 CRL', 'CERTIFICATE  REQUEST']), der),
  textAround: (der, r) => `${r.pick(['Subject: CN=x\n', '', '\u0000\u00ff'])}${toPem('CERTIFICATE REQUEST', der)}trailing text\n`,
  badBase64: (der, r) => {
    const pem = toPem('CERTIFICATE REQUEST', der);
    const at = 36 + r.int(Math.max(1, pem.length - 72));
    return pem.slice(0, at) + r.pick(['!', '=', '-', '\u00e9', '', '====']) + pem.slice(at + 1);
  },
  dropLine: (der, r) => {
    const lines = toPem('CERTIFICATE REQUEST', der).split('\n');
    lines.splice(1 + r.int(Math.max(1, lines.length - 3)), 1);
    return lines.join('\n');
  },
  noEnd: (der) => toPem('CERTIFICATE REQUEST', der).replace(/-----END[^\n]*\n$/, ''),
  twoBlocks: (der, _r, original) => toPem('CERTIFICATE REQUEST', der) + toPem('CERTIFICATE REQUEST', original),
  emptyBlock: () => '-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n',
};

interface FuzzCase {
  id: number;
  what: string;
  bytes: Buffer;
  profile: 'client' | 'server';
}

function* cases(seed: number, count: number): Generator<FuzzCase> {
  const r = new Rng(seed);
  const ders = fixtureDers();
  const names = Object.keys(MUTATORS);
  for (let id = 0; id < count; id++) {
    const index = r.int(ders.length);
    const original = ders[index]!;
    const others = ders.filter((_, i) => i !== index);
    let der = original;
    const steps: string[] = [`${FIXTURES[index]}`];
    // Mostly one or two mutations; a few with none (PEM damage only, often harmless) or a chain of three.
    const n = r.pick([0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3]);
    for (let i = 0; i < n; i++) {
      const name = r.pick(names);
      der = MUTATORS[name]!(der, r, others);
      steps.push(name);
    }
    let bytes: Buffer = der;
    if (r.next() < 0.5) {
      const pem = r.pick(Object.keys(PEM_MUTATORS));
      bytes = Buffer.from(PEM_MUTATORS[pem]!(der, r, original), 'latin1');
      steps.push(`pem:${pem}`);
    }
    yield { id, what: steps.join(' > '), bytes, profile: r.next() < 0.3 ? 'server' : 'client' };
  }
}

/** What openssl says about the bytes pocketca signed from (PEM decoded by the test, else DER as is). */
function opensslVerifies(dir: string, c: FuzzCase): { ok: boolean; pubkey: string } {
  const text = c.bytes.toString('latin1');
  const der = text.includes('-----BEGIN ') ? pemBody(text) : c.bytes;
  if (!der) return { ok: false, pubkey: '' };
  const file = join(dir, `case-${c.id}.der`);
  writeFileSync(file, der);
  const r = openssl(['req', '-inform', 'DER', '-in', file, '-verify', '-noout', '-pubkey']);
  return { ok: r.code === 0 && /verify OK/.test(r.stderr + r.stdout), pubkey: r.stdout };
}

function checkIssued(ca: TestCa, caCert: X509Certificate, c: FuzzCase, pem: string): void {
  const verdict = opensslVerifies(ca.dir, c);
  assert.ok(verdict.ok, `case ${c.id} (${c.what}): pocketca signed a CSR whose signature openssl does not verify`);
  const cert = new X509Certificate(pem);
  assert.ok(cert.verify(caCert.publicKey), `case ${c.id}: the certificate verifies with the CA`);
  const csrKey = createPublicKey(verdict.pubkey).export({ type: 'spki', format: 'der' });
  assert.ok(cert.publicKey.export({ type: 'spki', format: 'der' }).equals(csrKey), `case ${c.id}: the certificate carries the CSR's key`);
  // SPEC "Trust boundary": the subject is exactly one CN, whatever the CSR held.
  assert.match(cert.subject, /^CN=[^\n]+$/, `case ${c.id}: the subject is one CN: ${JSON.stringify(cert.subject)}`);
}

const countCertificates = (ca: TestCa): number => withDatabase(ca.home, (db) => db.prepare('SELECT COUNT(*) FROM certificates').pluck().get() as number);

test('1,200 mutated CSRs through sign in-process: only usage errors, only verified CSRs signed', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const home = new CaHome(ca.home, { access: 'changes', warn: () => undefined });
  t.after(() => home.close());
  const ctx: AppContext = { home, now: () => new Date(), randomBytes, passphrase: async () => PASSPHRASE, warn: () => undefined };
  const caCert = new X509Certificate(readFileSync(join(ca.home, 'ca.pem')));

  let accepted = 0;
  const refusals = new Map<string, number>();
  for (const c of cases(20_261_123, 1200)) {
    let pem: string | undefined;
    try {
      pem = (await signCsr(ctx, { csr: c.bytes, profile: c.profile, email: [], dns: [], ip: [] })).pem;
    } catch (error) {
      assert.ok(error instanceof PocketcaError, `case ${c.id} (${c.what}): an unhandled ${(error as Error)?.name}: ${(error as Error)?.stack}`);
      assert.equal(error.exitCode, 2, `case ${c.id} (${c.what}): exit ${error.exitCode} for "${error.message}"`);
      const kind = error.message.replace(/\(.*$|[0-9]+/g, '').slice(0, 50);
      refusals.set(kind, (refusals.get(kind) ?? 0) + 1);
      continue;
    }
    accepted++;
    checkIssued(ca, caCert, c, pem);
  }
  home.close();
  t.diagnostic(`accepted ${accepted}; refused: ${[...refusals].map(([k, n]) => `${n} "${k.trim()}"`).join(', ')}`);
  assert.equal(countCertificates(ca), accepted, 'a certificate is recorded for each accepted CSR and for nothing else');
  // The fuzzer has teeth both ways: most cases are refused, some survive (PEM noise, trailing text).
  assert.ok(accepted >= 20, `only ${accepted} accepted`);
  assert.ok(accepted <= 600, `${accepted} accepted: the mutations are too mild`);
  assert.ok((refusals.get('CSR signature does not verify') ?? 0) >= 50, `forgeries are refused by signature: ${JSON.stringify([...refusals])}`);
});

test('48 mutated CSRs through the real binary: exit 0 or 2, never a crash', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const go = goX509(t);
  if (!go) return;
  const caCert = new X509Certificate(readFileSync(join(ca.home, 'ca.pem')));
  const rootPem = readFileSync(join(ca.home, 'ca.pem'), 'utf8');
  const all = [...cases(4242, 48)];
  let accepted = 0;
  for (let i = 0; i < all.length; i += 4) {
    const batch = all.slice(i, i + 4);
    const results = await Promise.all(
      batch.map((c) => {
        const viaStdin = c.id % 3 === 0;
        const file = join(ca.dir, `input-${c.id}`);
        writeFileSync(file, c.bytes);
        const args = ['sign', viaStdin ? '-' : file, '--json', '--profile', c.profile];
        return ca.runAsync(args, viaStdin ? { input: c.bytes } : {});
      }),
    );
    results.forEach((r, k) => {
      const c = batch[k]!;
      assert.ok(r.code === 0 || r.code === 2, `case ${c.id} (${c.what}): exit ${r.code}\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /internal error|at .*\.js:\d+/, `case ${c.id}: no crash, no stack trace`);
      if (r.code === 2) {
        assert.match(r.stderr, /^error: .+/m, `case ${c.id}: one error line`);
        assert.equal(r.stdout, '', `case ${c.id}: nothing on stdout`);
        return;
      }
      accepted++;
      const pem = JSON.parse(r.stdout).pem;
      checkIssued(ca, caCert, c, pem);
      // Strict parsers read every certificate sign issues, however odd the CSR was.
      const verdict = go.verify({ rootPem, leafPem: pem, usage: c.profile === 'server' ? 'serverAuth' : 'clientAuth' });
      assert.ok(verdict.parsed && verdict.verified, `case ${c.id} (${c.what}): Go's crypto/x509: ${verdict.error}`);
    });
  }
  assert.equal(countCertificates(ca), accepted);
});
