/**
 * The subject alternative names of every end-entity certificate, checked
 * once here for `issue`, `sign` (flags and a server CSR's own SANs) and
 * `renew` (SPEC "Trust boundary": `--dns` refuses an IP address, `--ip`
 * refuses zone suffixes).
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { UsageError } from '../errors';
import type { SubjectAltNames } from '../formats/x509';
import { showText } from './subject';

const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/**
 * A dNSName (RFC 5280 §4.2.1.6: the preferred name syntax of RFC 1034 §3.5,
 * an optional leading `*.` wildcard). An IP address written as a DNS name is
 * refused (a client matching it as a host name may resolve it, or a browser
 * may read `10.1` as an IPv4 address), and so is any name whose last label is
 * all digits (RFC 1123 §2.1 / RFC 3696 §2: a top-level label is never
 * numeric). A non-ASCII name is refused with its A-label in the hint rather
 * than converted, so the certificate holds exactly what the user typed.
 */
export function validateDnsName(name: string): string {
  const bare = name.startsWith('*.') ? name.slice(2) : name;
  const unbracketed = /^\[.*\]$/.test(name) ? name.slice(1, -1) : name;
  if (isIP(unbracketed) || isIP(unbracketed.split('%')[0]!)) {
    throw new UsageError(`${showText(name)} is an IP address, not a DNS name`, `use --ip ${unbracketed.split('%')[0]} for an IP address SAN`);
  }
  const labels = bare.split('.');
  if (/[^\x00-\x7f]/.test(name)) {
    const ascii = domainToASCII(name);
    throw new UsageError(
      `invalid DNS name ${showText(name)}: a DNS SAN is ASCII`,
      ascii && ascii !== name.toLowerCase() ? `use its IDNA A-label form: --dns ${ascii}` : 'use letters, digits and hyphens, e.g. --dns cloud.home.arpa',
    );
  }
  if (name.length > 253 || !labels.every((label) => DNS_LABEL.test(label))) {
    throw new UsageError(`invalid DNS name ${showText(name)}`, 'use letters, digits and hyphens, e.g. --dns cloud.home.arpa');
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) {
    throw new UsageError(`invalid DNS name ${showText(name)}: its last label is all digits, like an IP address`, 'for an IP address SAN use --ip ADDRESS');
  }
  return name.toLowerCase();
}

/** An iPAddress SAN: 4 or 16 octets (RFC 5280 §4.2.1.6), so no IPv6 zone (`%eth0`, RFC 4007 §11), which means nothing off the host. */
export function validateIp(ip: string): string {
  if (ip.includes('%')) {
    const bare = ip.slice(0, ip.indexOf('%'));
    throw new UsageError(`invalid IP address ${showText(ip)}: a certificate cannot carry a zone suffix`, isIP(bare) ? `use --ip ${bare}` : 'e.g. --ip 192.168.1.10 or --ip fd00::10');
  }
  if (!isIP(ip)) throw new UsageError(`invalid IP address ${showText(ip)}`, 'e.g. --ip 192.168.1.10 or --ip fd00::10');
  return ip;
}

export function validateEmail(email: string): string {
  // rfc822Name is an IA5String (RFC 5280 §4.2.1.6): ASCII only.
  if (!/^[\x21-\x3f\x41-\x7e]+@[A-Za-z0-9.-]+$/.test(email) || email.length > 254) {
    throw new UsageError(`invalid e-mail address ${showText(email)}`);
  }
  return email;
}

export function validateSans(input: Partial<SubjectAltNames>): SubjectAltNames {
  const unique = (xs: string[]) => [...new Set(xs)];
  return {
    dns: unique((input.dns ?? []).map(validateDnsName)),
    ip: unique((input.ip ?? []).map(validateIp)),
    email: unique((input.email ?? []).map(validateEmail)),
  };
}

export const hasSans = (s: SubjectAltNames): boolean => s.dns.length + s.ip.length + s.email.length > 0;
