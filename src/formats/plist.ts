/**
 * A small XML property list writer (Apple's PropertyList-1.0 DTD) for the
 * types a configuration profile uses: dict, array, string, integer, boolean
 * and data. No reader: pocketca only writes profiles.
 *
 * Output is what Apple's own tools produce: the XML declaration and DOCTYPE,
 * tab indentation, dict keys sorted (CFPropertyList and Python's plistlib
 * sort them too, so the bytes do not depend on how the object was built),
 * and <data> as base64 wrapped in indented lines (whitespace inside <data>
 * is ignored by every reader).
 */

/** A value that can be written; `undefined` in a dict means "leave the key out". */
export type PlistValue = string | number | boolean | Uint8Array | readonly PlistValue[] | PlistDict;
export interface PlistDict {
  readonly [key: string]: PlistValue | undefined;
}

const HEADER =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
  '<plist version="1.0">\n';
const FOOTER = '</plist>\n';

/** Base64 characters per line inside <data> (as PEM, RFC 7468 §2). */
const DATA_LINE = 64;

/**
 * Characters XML 1.0 cannot carry at all, not even as character references
 * (XML 1.0 §2.2 Char): C0 controls other than TAB, LF and CR; U+FFFE and
 * U+FFFF; unpaired surrogates (which have no UTF-8 encoding).
 */
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Escape text content. `&` and `<` must be escaped, `>` is escaped so that
 * `]]>` can never appear (XML 1.0 §2.4). CR is written as `&#13;` because a
 * parser turns a literal CR or CRLF into LF (XML 1.0 §2.11); quotes need no
 * escaping outside attribute values.
 */
export function escapeXmlText(text: string): string {
  const bad = NOT_XML_CHAR.exec(text);
  if (bad) {
    const code = bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw new RangeError(`U+${code} cannot be written in an XML property list`);
  }
  return text.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
}

function isDict(value: PlistValue): value is PlistDict {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function writeValue(value: PlistValue, depth: number, out: string[]): void {
  const indent = '\t'.repeat(depth);
  if (typeof value === 'string') {
    out.push(`${indent}<string>${escapeXmlText(value)}</string>\n`);
  } else if (typeof value === 'number') {
    // <real> is not needed by any payload pocketca writes; refuse rather
    // than silently writing 1.5 as an integer.
    if (!Number.isSafeInteger(value)) throw new RangeError(`not an integer: ${value}`);
    out.push(`${indent}<integer>${value}</integer>\n`);
  } else if (typeof value === 'boolean') {
    out.push(`${indent}<${value}/>\n`);
  } else if (value instanceof Uint8Array) {
    const base64 = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    if (base64.length === 0) {
      out.push(`${indent}<data></data>\n`);
      return;
    }
    out.push(`${indent}<data>\n`);
    for (let i = 0; i < base64.length; i += DATA_LINE) out.push(`${indent}${base64.slice(i, i + DATA_LINE)}\n`);
    out.push(`${indent}</data>\n`);
  } else if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push(`${indent}<array/>\n`);
      return;
    }
    out.push(`${indent}<array>\n`);
    for (const item of value as readonly PlistValue[]) writeValue(item, depth + 1, out);
    out.push(`${indent}</array>\n`);
  } else if (isDict(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    if (keys.length === 0) {
      out.push(`${indent}<dict/>\n`);
      return;
    }
    out.push(`${indent}<dict>\n`);
    for (const key of keys) {
      out.push(`${indent}\t<key>${escapeXmlText(key)}</key>\n`);
      writeValue(value[key]!, depth + 1, out);
    }
    out.push(`${indent}</dict>\n`);
  } else {
    throw new TypeError(`cannot write ${value === null ? 'null' : typeof value} in a property list`);
  }
}

/** The XML property list text (UTF-8 when written with Buffer.from(text)). */
export function encodePlist(root: PlistValue): string {
  const out: string[] = [HEADER];
  writeValue(root, 0, out);
  out.push(FOOTER);
  return out.join('');
}
