/**
 * Generated PKCS#12 passwords: 16 characters of Crockford's base32 (no i, l,
 * o, u: nothing to confuse on a phone keyboard) in four groups, 80 bits.
 * 32 symbols = 5 bits each, so a byte's low 5 bits map without bias.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export function generatePassword(randomBytes: (n: number) => Buffer): string {
  const bytes = randomBytes(16);
  const chars = [...bytes].map((b) => ALPHABET[b & 31]!);
  return [0, 4, 8, 12].map((i) => chars.slice(i, i + 4).join('')).join('-');
}
