/**
 * CSRs that openssl will not make: an over-long CN, an unsorted
 * multi-valued RDN, an invalid PrintableString, an RSA key without NULL
 * parameters, a compressed EC point. python3-cryptography makes the key and
 * the signature; the CertificationRequestInfo is written byte by byte by
 * the small DER encoder below, so each case is exactly the bytes described.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { requireTool } from './tools';

export type HostileKey =
  | { type: 'rsa'; bits: number }
  | { type: 'ec'; curve: 'secp256r1' | 'secp384r1' | 'secp521r1' | 'secp192r1' | 'secp256k1' }
  | { type: 'ed25519' };

/** One attribute: OID, DER string tag (0x0c UTF8String, 0x13 PrintableString, 0x16 IA5String, 0x1e BMPString), value bytes. */
export type HostileAttribute = [oid: string, tag: number, value: Buffer];

export interface HostileCsrSpec {
  key: HostileKey;
  /** RDNs in the order given, each SET's members in the order given (not sorted). */
  subject: HostileAttribute[][];
  /** How the SubjectPublicKeyInfo is written; default as cryptography exports it. */
  spki?: 'normal' | 'rsa-no-null' | 'ec-compressed';
  /** subjectAltName entries requested in an extensionRequest attribute; default none. */
  dns?: string[];
}

export const OIDS = { CN: '2.5.4.3', O: '2.5.4.10', OU: '2.5.4.11', C: '2.5.4.6', emailAddress: '1.2.840.113549.1.9.1' } as const;

/** A UTF8String attribute. */
export const utf8 = (oid: string, value: string): HostileAttribute => [oid, 0x0c, Buffer.from(value, 'utf8')];

const SCRIPT = String.raw`
import json, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa, ec, ed25519, padding

spec = json.load(sys.stdin)

def length(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(b)]) + b

def tlv(tag, content):
    return bytes([tag]) + length(len(content)) + content

def seq(*xs):
    return tlv(0x30, b''.join(xs))

def oid(dotted):
    arcs = [int(a) for a in dotted.split('.')]
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1]] + arcs[2:]:
        chunk = [arc & 0x7f]
        arc >>= 7
        while arc:
            chunk.insert(0, 0x80 | (arc & 0x7f))
            arc >>= 7
        out += bytes(chunk)
    return tlv(0x06, bytes(out))

def integer(n):
    b = n.to_bytes(max(1, (n.bit_length() + 8) // 8), 'big')
    return tlv(0x02, b)

k = spec['key']
if k['type'] == 'rsa':
    key = rsa.generate_private_key(public_exponent=65537, key_size=k['bits'])
elif k['type'] == 'ec':
    key = ec.generate_private_key(getattr(ec, k['curve'].upper())())
else:
    key = ed25519.Ed25519PrivateKey.generate()
pub = key.public_key()

mode = spec.get('spki', 'normal')
if mode == 'rsa-no-null':
    nums = pub.public_numbers()
    spki = seq(seq(oid('1.2.840.113549.1.1.1')), tlv(0x03, b'\x00' + seq(integer(nums.n), integer(nums.e))))
elif mode == 'ec-compressed':
    point = pub.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    curve_oid = {'secp256r1': '1.2.840.10045.3.1.7', 'secp384r1': '1.3.132.0.34'}[k['curve']]
    spki = seq(seq(oid('1.2.840.10045.2.1'), oid(curve_oid)), tlv(0x03, b'\x00' + point))
else:
    spki = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

rdns = b''.join(tlv(0x31, b''.join(seq(oid(a[0]), tlv(a[1], bytes.fromhex(a[2]))) for a in rdn)) for rdn in spec['subject'])
subject = tlv(0x30, rdns)
attrs = b''
if spec.get('dns'):
    san = seq(*[tlv(0x82, d.encode('ascii')) for d in spec['dns']])
    ext = seq(oid('2.5.29.17'), tlv(0x04, san))
    attrs = seq(oid('1.2.840.113549.1.9.14'), tlv(0x31, seq(ext)))
info = seq(integer(0), subject, spki, tlv(0xa0, attrs))

if k['type'] == 'rsa':
    alg = seq(oid('1.2.840.113549.1.1.11'), b'\x05\x00')
    sig = key.sign(info, padding.PKCS1v15(), hashes.SHA256())
elif k['type'] == 'ec':
    alg = seq(oid('1.2.840.10045.4.3.2'))
    sig = key.sign(info, ec.ECDSA(hashes.SHA256()))
else:
    alg = seq(oid('1.3.101.112'))
    sig = key.sign(info)
csr = seq(info, alg, tlv(0x03, b'\x00' + sig))
open(spec['out'], 'wb').write(csr)
open(spec['out'] + '.key', 'wb').write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
`;

/** True when python3 with python3-cryptography is there; else skips the test (or fails it under CI=true). */
export function canMakeHostileCsrs(t: TestContext): boolean {
  if (!requireTool(t, 'python3')) return false;
  if (spawnSync('python3', ['-c', 'import cryptography'], { timeout: 30_000 }).status === 0) return true;
  const reason = 'python3-cryptography not installed: apt-get install python3-cryptography';
  if (process.env.CI === 'true') throw new Error(`${reason} (CI must run every independent check)`);
  t.skip(reason);
  return false;
}

/** Write the CSR (DER) to dir/file and its key to dir/file.key; returns the CSR path. */
export function makeHostileCsr(dir: string, file: string, spec: HostileCsrSpec): string {
  const out = join(dir, file);
  const input = JSON.stringify({ ...spec, out, subject: spec.subject.map((rdn) => rdn.map(([oid, tag, value]) => [oid, tag, value.toString('hex')])) });
  const scriptPath = join(dir, 'hostile-csr.py');
  writeFileSync(scriptPath, SCRIPT);
  const r = spawnSync('python3', [scriptPath], { input, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`python3-cryptography could not make ${file}: ${r.stderr}`);
  return out;
}
