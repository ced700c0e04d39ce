import { isIP } from 'node:net';
import { UsageError } from '../errors';
import type { SubjectAltNames } from '../formats/x509';

const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

export function validateDnsName(name: string): string {
  const bare = name.startsWith('*.') ? name.slice(2) : name;
  if (name.length > 253 || !bare.split('.').every((label) => DNS_LABEL.test(label))) {
    throw new UsageError(`invalid DNS name ${JSON.stringify(name)}`, 'use letters, digits and hyphens, e.g. --dns cloud.home.arpa');
  }
  return name.toLowerCase();
}

export function validateIp(ip: string): string {
  if (!isIP(ip)) throw new UsageError(`invalid IP address ${JSON.stringify(ip)}`, 'e.g. --ip 192.168.1.10 or --ip fd00::10');
  return ip;
}

export function validateEmail(email: string): string {
  // rfc822Name is an IA5String (RFC 5280 §4.2.1.6): ASCII only.
  if (!/^[\x21-\x3f\x41-\x7e]+@[A-Za-z0-9.-]+$/.test(email) || email.length > 254) {
    throw new UsageError(`invalid e-mail address ${JSON.stringify(email)}`);
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
