/**
 * Name-constrained roots (RFC 5280 §4.2.1.10): `init --permit-dns/--permit-ip/
 * --permit-email` and the check `issue`, `sign`, `renew` make before signing.
 *
 * Semantics, chosen to match what OpenSSL and Go enforce:
 * - a DNS tree `example.com` permits example.com and every name under it
 *   (`*.example.com` too); the leading-dot form (`.example.com`, subdomains
 *   only) is refused at `init` as ambiguous between implementations;
 * - an e-mail tree `example.com` permits every mailbox at exactly that host;
 * - an IP tree is a CIDR network (`10.0.0.0/8`, `fd00::/8`).
 * A constraint binds only the name forms it lists (RFC 5280), so a root given
 * DNS trees and no IP tree would still vouch for every IP address. The root
 * therefore also excludes every name of a form (DNS, IP) that was given no
 * tree, and pocketca refuses to issue such a SAN.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { UsageError } from '../errors';
import { noTrees, parseNameConstraints, treeCount, type NameConstraints, type NameTrees } from '../formats/name-constraints';
import { extensionOf, ipToBytes, OID, type SubjectAltNames } from '../formats/x509';
import { showText } from './subject';
import { validateDnsName } from './subject-alt-names';

export interface PermitFlags {
  dns: string[];
  ip: string[];
  email: string[];
}

function validateDnsTree(domain: string): string {
  if (domain.startsWith('.')) {
    throw new UsageError(
      `--permit-dns ${showText(domain)}: give the domain without the leading dot`,
      `--permit-dns ${domain.slice(1)} permits that name and every name under it`,
    );
  }
  if (domain.includes('*')) throw new UsageError(`--permit-dns ${showText(domain)}: a permitted tree is a domain, not a wildcard`);
  return validateDnsName(domain);
}

function validateEmailTree(domain: string): string {
  if (domain.includes('@')) throw new UsageError(`--permit-email ${showText(domain)}: give the mail domain (example.com), not an address`);
  return validateDnsTree(domain);
}

/** `10.0.0.0/8` or `fd00::/8`: the address must be the network's own (no host bits set). */
function validateCidr(cidr: string): string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  const family = m ? (isIPv4(m[1]!) ? 4 : isIPv6(m[1]!) ? 6 : 0) : 0;
  const bits = m ? Number(m[2]) : -1;
  if (!m || family === 0 || bits > (family === 4 ? 32 : 128)) {
    throw new UsageError(`--permit-ip ${showText(cidr)} is not a CIDR network`, 'e.g. --permit-ip 192.168.1.0/24 or --permit-ip fd00::/8');
  }
  if (ipToBytes(m[1]!).some((byte, i) => (byte & maskByte(bits, i)) !== byte)) {
    throw new UsageError(`--permit-ip ${cidr} has host bits set`, `use the network address, e.g. --permit-ip ${networkOf(m[1]!, bits)}/${bits}`);
  }
  return `${m[1]!.toLowerCase()}/${bits}`;
}

const maskByte = (bits: number, i: number): number => (bits >= (i + 1) * 8 ? 0xff : bits <= i * 8 ? 0 : (0xff << (8 - (bits - i * 8))) & 0xff);

function networkOf(address: string, bits: number): string {
  const bytes = ipToBytes(address).map((byte, i) => byte & maskByte(bits, i));
  return bytes.length === 4 ? [...bytes].join('.') : (Buffer.from(bytes).toString('hex').match(/.{4}/g) ?? []).map((g) => g.replace(/^0+(?=.)/, '')).join(':');
}

/** The root's nameConstraints from the `init` flags, or undefined when none was given. */
export function constraintsFromFlags(flags: PermitFlags): NameConstraints | undefined {
  const permitted: NameTrees = {
    dns: [...new Set(flags.dns.map(validateDnsTree))],
    email: [...new Set(flags.email.map(validateEmailTree))],
    ip: [...new Set(flags.ip.map(validateCidr))],
  };
  if (treeCount(permitted) === 0) return undefined;
  const excluded = noTrees();
  // An empty dNSName base matches every name (RFC 5280 §4.2.1.10; OpenSSL nc_dns, Go matchDomainConstraint).
  if (permitted.dns.length === 0) excluded.dns.push('');
  if (permitted.ip.length === 0) excluded.ip.push('0.0.0.0/0', '::/0');
  return { permitted, excluded };
}

const dnsWithin = (name: string, tree: string): boolean => {
  const n = name.toLowerCase().replace(/^\*\./, '');
  const t = tree.toLowerCase();
  return t === '' || n === t || n.endsWith(`.${t}`);
};

function ipWithin(ip: string, cidr: string): boolean {
  const [address, bitsText] = cidr.split('/') as [string, string];
  const a = ipToBytes(ip);
  const net = ipToBytes(address);
  if (a.length !== net.length) return false;
  const bits = Number(bitsText);
  return a.every((byte, i) => (byte & maskByte(bits, i)) === net[i]);
}

const emailWithin = (email: string, tree: string): boolean => email.slice(email.lastIndexOf('@') + 1).toLowerCase() === tree.toLowerCase();

/** `DNS:example.com, IP:10.0.0.0/8`, as openssl prints GeneralNames. */
export function describeTrees(trees: NameTrees): string {
  const all = [...trees.dns.map((d) => `DNS:${d || '(every name)'}`), ...trees.ip.map((i) => `IP:${i}`), ...trees.email.map((e) => `email:${e}`)];
  return all.length ? all.join(', ') : 'none';
}

/** One line for `show` and `doctor`. */
export function describeConstraints(c: NameConstraints): string {
  const excluded = treeCount(c.excluded) ? `; excluded ${describeTrees(c.excluded)}` : '';
  return `permitted ${describeTrees(c.permitted)}${excluded}`;
}

/** A certificate's nameConstraints as one line (`show`, `doctor`), or null. */
export function describedNameConstraints(der: Buffer): string | null {
  const ext = extensionOf(der, OID.nameConstraints);
  return ext ? describeConstraints(parseNameConstraints(ext.value)) : null;
}

/**
 * A CN OpenSSL reads as a host name (X509_check_host's cn2dnsid: letters,
 * digits, hyphens and at least one inner dot) is checked against the DNS
 * trees when there is no DNS SAN; Go ignores the CN.
 */
export const cnLooksLikeHost = (cn: string): boolean => /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(cn);

function refuse(what: string, c: NameConstraints): never {
  throw new UsageError(
    `${what} is outside the CA's name constraints (permitted: ${describeTrees(c.permitted)})`,
    'issue only names inside the permitted trees; other names need a root made without (or with other) --permit-* flags',
  );
}

/** Throws (exit 2) for the first name a verifier would reject under these constraints. */
export function checkNamesAllowed(c: NameConstraints, sans: SubjectAltNames, commonName: string): void {
  const allowed = (name: string, permitted: string[], excluded: string[], within: (n: string, t: string) => boolean) =>
    permitted.some((t) => within(name, t)) && !excluded.some((t) => within(name, t));
  for (const dns of sans.dns) if (!allowed(dns, c.permitted.dns, c.excluded.dns, dnsWithin)) refuse(`SAN DNS:${dns}`, c);
  for (const ip of sans.ip) if (!allowed(ip, c.permitted.ip, c.excluded.ip, ipWithin)) refuse(`SAN IP:${ip}`, c);
  for (const email of sans.email) if (!allowed(email, c.permitted.email, c.excluded.email, emailWithin)) refuse(`SAN email:${email}`, c);
  if (sans.dns.length === 0 && cnLooksLikeHost(commonName) && !allowed(commonName, c.permitted.dns, c.excluded.dns, dnsWithin)) {
    refuse(`CN ${commonName} (a host name to OpenSSL)`, c);
  }
}
