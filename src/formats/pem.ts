/** PEM (RFC 7468) in and out. */

export function toPem(label: string, der: Buffer): string {
  return toPemBuffer(label, der).toString('latin1');
}

/**
 * toPem as bytes, for large files: a CRL of 100,000 entries is 6 MB of PEM,
 * written line by line into one buffer instead of through a regex and three
 * copies of a string (issue 6).
 */
export function toPemBuffer(label: string, der: Buffer): Buffer {
  const head = `-----BEGIN ${label}-----\n`;
  const tail = `-----END ${label}-----\n`;
  const lines = Math.ceil(der.length / 48); // 48 octets are one line of 64 characters (RFC 7468 §2)
  const out = Buffer.allocUnsafe(head.length + lines * 65 + tail.length);
  let pos = out.write(head, 0, 'latin1');
  for (let i = 0; i < der.length; i += 48) {
    pos += out.write(der.toString('base64', i, Math.min(der.length, i + 48)), pos, 'latin1');
    out[pos++] = 0x0a;
  }
  pos += out.write(tail, pos, 'latin1');
  return out.subarray(0, pos);
}

/**
 * toPemBuffer of the DER that `parts` concatenated make, without
 * concatenating them: 48 octets a line, staged 48 KiB at a time (a CRL of
 * 1,000,000 entries is 40 MB of DER, issue 13).
 */
export function toPemBufferParts(label: string, parts: readonly Buffer[]): Buffer {
  const head = `-----BEGIN ${label}-----\n`;
  const tail = `-----END ${label}-----\n`;
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = Buffer.allocUnsafe(head.length + Math.ceil(total / 48) * 65 + tail.length);
  let pos = out.write(head, 0, 'latin1');
  const stage = Buffer.allocUnsafe(48 * 1024);
  let staged = 0;
  const flush = () => {
    const b64 = Buffer.from(stage.toString('base64', 0, staged), 'latin1');
    for (let i = 0; i < b64.length; i += 64) {
      pos += b64.copy(out, pos, i, Math.min(b64.length, i + 64));
      out[pos++] = 0x0a;
    }
    staged = 0;
  };
  for (const part of parts) {
    for (let at = 0; at < part.length; ) {
      const n = part.copy(stage, staged, at, Math.min(part.length, at + stage.length - staged));
      staged += n;
      at += n;
      if (staged === stage.length) flush();
    }
  }
  if (staged > 0) flush();
  pos += out.write(tail, pos, 'latin1');
  return out.subarray(0, pos);
}

export interface PemBlock {
  label: string;
  der: Buffer;
}

/** Every PEM block in the text, in order; text outside blocks is ignored. */
export function fromPemAll(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  // The first END with the same label closes a block (what a lazy regex over
  // the whole block would match, at a quarter of its cost on a 6 MB CRL).
  const begin = /-----BEGIN ([A-Z0-9 #]+)-----/g;
  for (let m = begin.exec(text); m; m = begin.exec(text)) {
    const label = m[1]!;
    const endMarker = `-----END ${label}-----`;
    const end = text.indexOf(endMarker, begin.lastIndex);
    if (end < 0) {
      begin.lastIndex = m.index + 1;
      continue;
    }
    const body = text.slice(begin.lastIndex, end);
    begin.lastIndex = end + endMarker.length;
    // Base64 with white space anywhere and at most two '=' at the end; Buffer.from skips the white space.
    if (!/^[A-Za-z0-9+/\s]*(?:=\s*){0,2}$/.test(body)) continue;
    blocks.push({ label, der: Buffer.from(body, 'base64') });
  }
  return blocks;
}

/** The first block with one of the labels, or undefined. */
export function fromPem(text: string, labels: readonly string[]): Buffer | undefined {
  return fromPemAll(text).find((b) => labels.includes(b.label))?.der;
}

export function looksLikePem(bytes: Buffer): boolean {
  return bytes.subarray(0, 4096).toString('latin1').includes('-----BEGIN ');
}
