/**
 * Serial numbers (RFC 5280 §4.1.2.2; CA/B Forum BR 7.1: at least 64 bits from
 * a CSPRNG). 16 random octets with the top bit cleared (so the INTEGER stays
 * positive without a pad byte) and the next bit set (so every serial has the
 * same length): 126 bits of entropy, 16 octets, within the 20-octet limit.
 * Stored and shown as lowercase hex; the database's primary key keeps them unique.
 */
export function generateSerial(randomBytes: (n: number) => Buffer): Buffer {
  const bytes = Buffer.from(randomBytes(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes;
}

export const serialToHex = (serial: Buffer): string => serial.toString('hex');

/**
 * The hex digits of a serial as a person types or copies it: any case,
 * colons or not (`4d:28:1a:71`, what openssl and browsers print), an
 * optional 0x, and the … (or ...) of a serial a table shortened. Leading
 * zeros are kept. Undefined when it is not hex.
 */
export function serialDigits(input: string): string | undefined {
  const compact = input
    .trim()
    .replace(/(…|\.\.\.)$/, '')
    .replace(/^0x/i, '')
    .replace(/:/g, '')
    .toLowerCase();
  return /^[0-9a-f]{1,40}$/.test(compact) ? compact : undefined;
}

/** Accept what openssl and browsers print: any case, optional colons, optional 0x, leading zeros. */
export function normalizeSerial(input: string): string | undefined {
  const compact = serialDigits(input);
  if (compact === undefined) return undefined;
  const stripped = compact.replace(/^0+(?=.)/, '');
  return stripped.length % 2 ? '0' + stripped : stripped;
}

/**
 * The fewest hex digits a serial prefix needs (SPEC "Everyday use, second
 * pass"): 32 bits, one chance in four billion that another random serial
 * shares it; an ambiguous one is refused, never guessed.
 */
export const MIN_SERIAL_PREFIX = 8;
