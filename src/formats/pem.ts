/** PEM (RFC 7468) in and out. */

export function toPem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

export interface PemBlock {
  label: string;
  der: Buffer;
}

/** Every PEM block in the text, in order; text outside blocks is ignored. */
export function fromPemAll(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 #]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const body = m[2]!.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) continue;
    blocks.push({ label: m[1]!, der: Buffer.from(body, 'base64') });
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
