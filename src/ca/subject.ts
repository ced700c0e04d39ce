/**
 * The one subject builder (STYLE "One subject builder"): every end-entity
 * certificate pocketca signs (`issue`, `sign`, `renew`, the profile signer)
 * has the subject `CN=<cn>`, encoded here from a checked string. Nothing
 * copies a CSR's subject bytes into a certificate (SPEC "Trust boundary":
 * `sign` builds the subject itself): a proxy that passes the subject DN to
 * its upstream (`X-SSL-Client-S-DN`) then shows only what this CA chose.
 */
import { InvalidSubjectError } from '../errors';
import { decodeRdns, encodeName, formatName, type NameAttribute } from '../formats/x500-name';

/** RFC 5280 Appendix A: ub-common-name INTEGER ::= 64, counted in characters (code points). */
export const MAX_CN_LENGTH = 64;

declare const built: unique symbol;

/** A subject made by `buildSubject` (the brand keeps other code from making one by hand). */
export interface Subject {
  readonly [built]: true;
  readonly commonName: string;
  readonly attributes: readonly NameAttribute[];
  /** The Name's DER: one RDN, CN as a UTF8String (RFC 5280 §4.1.2.4: UTF8String for new certificates). */
  readonly der: Buffer;
  /** As `list` and `--json` show it: `CN=dave`. */
  readonly text: string;
}

/**
 * C0 and C1 controls and DEL (\p{Cc}), lone surrogates (\p{Cs}: no UTF-8 for
 * them), and the bidirectional embedding, override and isolate controls
 * (U+202A-U+202E, U+2066-U+2069), which make a terminal or a log show a name
 * other than the one in the certificate.
 */
const CONTROL = /[\p{Cc}\p{Cs}\u202a-\u202e\u2066-\u2069]/u;

/** A string for an error line: controls and non-ASCII look-alike tricks shown as \uXXXX, the rest as typed. */
export function showText(text: string, max = 80): string {
  const cut = [...text].length > max ? [...text].slice(0, max).join('') + '…' : text;
  return JSON.stringify(cut).replace(/[\p{Cc}\p{Cs}\u202a-\u202e\u2066-\u2069]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What is wrong with `cn` as a common name, or undefined when it is fine. */
export function commonNameProblem(cn: string): string | undefined {
  if (cn.trim() === '') return 'is empty';
  if (CONTROL.test(cn)) return 'contains control characters';
  const length = [...cn].length;
  if (length > MAX_CN_LENGTH) return `is ${length} characters long; a CN has at most ${MAX_CN_LENGTH}`;
  return undefined;
}

/** The subject `CN=<cn>`; `what` names where cn came from, for the error (`--cn`, `the CSR's CN`). */
export function buildSubject(cn: string, what = '--cn'): Subject {
  const problem = commonNameProblem(cn);
  if (problem) throw new InvalidSubjectError(`${what} ${showText(cn)} ${problem}`);
  const attributes = [{ type: 'CN', value: cn }];
  return { commonName: cn, attributes, der: encodeName(attributes), text: formatName(attributes) } as unknown as Subject;
}

export interface CsrSubject {
  subject: Subject;
  /** The CSR's own subject as text, when it held more than the CN that was kept (for a warning). */
  dropped?: string;
}

/**
 * The subject for a CSR: `CN=<cn>` with `cn` the `--cn` the user gave, else
 * the CSR's single CN. No CN, several CNs, a CN whose string encoding is
 * broken (an invalid PrintableString), with control characters or too long:
 * InvalidSubjectError (exit 2) with the hint `--cn`. Every other attribute
 * (O, OU, emailAddress, the rest of a multi-valued RDN) is dropped.
 */
export function subjectForCsr(csrSubjectDer: Buffer, cn?: string): CsrSubject {
  const rdns = decodeRdns(csrSubjectDer);
  const all = rdns.flat();
  const original = formatName(all);
  const keep = (subject: Subject): CsrSubject => (original === subject.text ? { subject } : { subject, dropped: original });
  if (cn !== undefined) return keep(buildSubject(cn, '--cn'));
  const hint = 'give the certificate its CN with --cn NAME, or make the CSR with one plain CN, e.g. -subj /CN=device-name';
  const cns = all.filter((a) => a.type === 'CN');
  if (cns.length === 0) throw new InvalidSubjectError('the CSR has no common name (CN) in its subject', hint);
  if (cns.length > 1) throw new InvalidSubjectError(`the CSR's subject has ${cns.length} common names (${cns.map((a) => `CN=${showText(a.value)}`).join(', ')}); pocketca certifies one`, hint);
  const only = cns[0]!;
  if (!only.wellFormed) throw new InvalidSubjectError(`the CSR's CN ${showText(only.value)} is not a valid string of its ASN.1 type (tag 0x${only.tag.toString(16)})`, hint);
  const problem = commonNameProblem(only.value);
  if (problem) throw new InvalidSubjectError(`the CSR's CN ${showText(only.value)} ${problem}`, hint);
  return keep(buildSubject(only.value, "the CSR's CN"));
}
