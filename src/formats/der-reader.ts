/**
 * Just enough of a DER reader to slice a structure's exact bytes out of its
 * parent (a CSR's certificationRequestInfo must be verified as received, not
 * as re-encoded). Bounds are checked on every step: input is hostile.
 */
export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

export class DerError extends Error {}

export function readTlv(buf: Buffer, offset: number, limit: number = buf.length): Tlv {
  if (offset + 2 > limit) throw new DerError('truncated DER');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not supported');
  let pos = offset + 1;
  const first = buf[pos++]!;
  let length = first;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new DerError('unsupported DER length');
    if (pos + count > limit) throw new DerError('truncated DER');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[pos++]!;
    if (length < 0x80) throw new DerError('non-minimal DER length');
  }
  const end = pos + length;
  if (end > limit) throw new DerError('truncated DER');
  return { tag, start: offset, contentStart: pos, end };
}

/** The children of a constructed value. */
export function readChildren(buf: Buffer, parent: Tlv): Tlv[] {
  const children: Tlv[] = [];
  for (let pos = parent.contentStart; pos < parent.end; ) {
    const child = readTlv(buf, pos, parent.end);
    children.push(child);
    pos = child.end;
  }
  return children;
}

export const slice = (buf: Buffer, tlv: Tlv): Buffer => buf.subarray(tlv.start, tlv.end);
export const content = (buf: Buffer, tlv: Tlv): Buffer => buf.subarray(tlv.contentStart, tlv.end);

/**
 * An OBJECT IDENTIFIER's content as dotted text (X.690 §8.19): the first
 * subidentifier holds two arcs, 40 * a + b (arc 2 takes all values from 80).
 */
export function readOid(buf: Buffer, tlv: Tlv): string {
  const arcs: number[] = [];
  let value = 0;
  for (let pos = tlv.contentStart; pos < tlv.end; pos++) {
    if (value > 0x3fffffffffff) throw new DerError('OID arc too large');
    const b = buf[pos]!;
    value = value * 128 + (b & 0x7f);
    if (b & 0x80) continue;
    if (arcs.length === 0) arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
    else arcs.push(value);
    value = 0;
  }
  return arcs.join('.');
}

/** Limits for checkDerBounds. */
export interface DerBounds {
  /** Deepest nesting of constructed values; the outermost value is depth 1. */
  maxDepth: number;
  /** Most TLVs in the whole value, primitive and constructed. */
  maxElements: number;
}

/**
 * Walk a whole DER value before anything reads it (a parser of hostile bytes
 * is bounded before any cryptography): one value filling the buffer, every
 * constructed value (tag bit 0x20) exactly filled by its children, at most
 * `maxDepth` deep and `maxElements` in all. Iterative, with an explicit stack
 * of at most `maxDepth` frames: no recursion the input controls. Primitive
 * values (an OCTET STRING carrying DER, a BIT STRING) are not looked into.
 */
export function checkDerBounds(buf: Buffer, bounds: DerBounds): void {
  const top = readTlv(buf, 0);
  if (top.end !== buf.length) throw new DerError('trailing data after the DER value');
  let elements = 0;
  const open: { pos: number; end: number; depth: number }[] = [];
  const visit = (tlv: Tlv, depth: number) => {
    if (++elements > bounds.maxElements) throw new DerError(`more than ${bounds.maxElements} DER elements`);
    if ((tlv.tag & 0x20) === 0) return;
    if (depth >= bounds.maxDepth && tlv.contentStart < tlv.end) throw new DerError(`DER nested deeper than ${bounds.maxDepth}`);
    open.push({ pos: tlv.contentStart, end: tlv.end, depth: depth + 1 });
  };
  visit(top, 1);
  while (open.length > 0) {
    const frame = open[open.length - 1]!;
    if (frame.pos >= frame.end) {
      open.pop();
      continue;
    }
    const child = readTlv(buf, frame.pos, frame.end);
    frame.pos = child.end;
    visit(child, frame.depth);
  }
}
