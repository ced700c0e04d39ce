/**
 * The nameConstraints extension (RFC 5280 §4.2.1.10), bytes in and out.
 * Only the three name forms pocketca issues are written: dNSName, rfc822Name
 * and iPAddress (address and mask octets, 8 for IPv4, 32 for IPv6).
 */
import { constructed, implicitPrimitive, sequence } from './der';
import { content, readChildren, readTlv } from './der-reader';
import { OID, ipToBytes, type Extension } from './x509';

/** Trees of one kind (permitted or excluded); IP trees are CIDR text, `10.0.0.0/8`. */
export interface NameTrees {
  dns: string[];
  email: string[];
  ip: string[];
}

export interface NameConstraints {
  permitted: NameTrees;
  excluded: NameTrees;
}

export const noTrees = (): NameTrees => ({ dns: [], email: [], ip: [] });
export const treeCount = (t: NameTrees): number => t.dns.length + t.email.length + t.ip.length;

function cidrToBytes(cidr: string): Buffer {
  const [address, bits] = cidr.split('/') as [string, string];
  const bytes = ipToBytes(address);
  const mask = Buffer.alloc(bytes.length);
  for (let i = 0; i < Number(bits); i++) mask[i >> 3]! |= 0x80 >> (i & 7);
  return Buffer.concat([bytes, mask]);
}

function bytesToCidr(value: Buffer): string {
  const half = value.length / 2;
  const address = value.subarray(0, half);
  let bits = 0;
  for (const byte of value.subarray(half)) for (let b = 7; b >= 0; b--) bits += (byte >> b) & 1;
  // The WHATWG URL parser writes IPv6 in its RFC 5952 short form (`::/0`).
  const text = half === 4 ? [...address].join('.') : new URL(`http://[${(address.toString('hex').match(/.{4}/g) ?? []).join(':')}]/`).hostname.slice(1, -1);
  return `${text}/${bits}`;
}

function subtrees(tag: number, trees: NameTrees): Buffer {
  const general = [
    ...trees.dns.map((d) => implicitPrimitive(2, Buffer.from(d, 'ascii'))),
    ...trees.email.map((e) => implicitPrimitive(1, Buffer.from(e, 'ascii'))),
    ...trees.ip.map((ip) => implicitPrimitive(7, cidrToBytes(ip))),
  ];
  // GeneralSubtree ::= SEQUENCE { base, minimum DEFAULT 0, maximum ABSENT }: only the base.
  return constructed(tag, general.map((name) => sequence(name)));
}

/** Critical, as RFC 5280 §4.2.1.10 requires of a CA that sets it. */
export function nameConstraintsExtension(c: NameConstraints): Extension {
  const parts: Buffer[] = [];
  if (treeCount(c.permitted) > 0) parts.push(subtrees(0xa0, c.permitted));
  if (treeCount(c.excluded) > 0) parts.push(subtrees(0xa1, c.excluded));
  return { oid: OID.nameConstraints, critical: true, value: sequence(...parts) };
}

/** The trees of a nameConstraints value; name forms other than the three are counted in `other`. */
export function parseNameConstraints(value: Buffer): NameConstraints & { other: number } {
  const result = { permitted: noTrees(), excluded: noTrees(), other: 0 };
  for (const part of readChildren(value, readTlv(value, 0))) {
    const trees = part.tag === 0xa0 ? result.permitted : part.tag === 0xa1 ? result.excluded : undefined;
    if (!trees) continue;
    for (const subtree of readChildren(value, part)) {
      const base = readChildren(value, subtree)[0];
      if (!base) continue;
      const bytes = content(value, base);
      if (base.tag === 0x82) trees.dns.push(bytes.toString('latin1'));
      else if (base.tag === 0x81) trees.email.push(bytes.toString('latin1'));
      else if (base.tag === 0x87 && (bytes.length === 8 || bytes.length === 32)) trees.ip.push(bytesToCidr(bytes));
      else result.other++;
    }
  }
  return result;
}
