/**
 * Where things are printed: results on stdout (PEM, JSON, tables), progress,
 * prompts and warnings on stderr (SPEC "Commands"). Every line for a person
 * is fitted to its stream's terminal by layout.ts; raw data (PEM, JSON,
 * configs, the QR code) goes out as it is.
 */
import { UsageError } from '../errors';
import { fitTable, fitText, shorten, widthOf, type TableSpec } from './layout';

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  color: boolean;
}

/**
 * `-` for a binary output (a backup, a PNG): refused when stdout is a
 * terminal, before the command does anything, as gzip and openssl do: the
 * bytes would garble the screen, and a backup would leave the encrypted CA
 * key in the scrollback. A pipe or a redirection gets them.
 */
export function refuseBinaryOnTerminal(given: string | undefined, flag: string, what: string): void {
  if (given !== '-' || !process.stdout.isTTY) return;
  throw new UsageError(`${flag} -: ${what} is binary: stdout is a terminal`, `redirect it to a file or a pipe (${flag === 'FILE' ? '' : `${flag} `}- > FILE), or name a file instead of -`);
}

/** What jsonArray and lines write at a time. */
const CHUNK_OCTETS = 64 * 1024;

/**
 * Text written to stdout in pieces of about CHUNK_OCTETS: 100,000 rows never
 * sit in memory as one document, nor go out as 100,000 writes (issue 6).
 */
function chunkedStdout(): { put: (text: string) => void; flush: () => void } {
  let chunk = Buffer.allocUnsafe(CHUNK_OCTETS);
  let pos = 0;
  return {
    put(text: string): void {
      if (pos + text.length * 3 > chunk.length) {
        // A fresh buffer per piece: a stream may still hold the last one (pipes are asynchronous on macOS).
        if (pos > 0) process.stdout.write(chunk.subarray(0, pos));
        chunk = Buffer.allocUnsafe(Math.max(CHUNK_OCTETS, text.length * 3));
        pos = 0;
      }
      pos += chunk.write(text, pos);
    },
    flush(): void {
      if (pos > 0) process.stdout.write(chunk.subarray(0, pos));
      pos = 0;
    },
  };
}

/** `text` for a person on `stream`: fitted to its terminal, ending in one newline. */
function writeFitted(stream: NodeJS.WriteStream, text: string): void {
  if (!text) return;
  const fitted = fitText(text.endsWith('\n') ? text.slice(0, -1) : text, widthOf(stream));
  stream.write(fitted + '\n');
}

const writeLine = (text: string): void => writeFitted(process.stdout, text);

export class Output {
  constructor(readonly options: OutputOptions) {}

  get json(): boolean {
    return this.options.json;
  }

  /**
   * What the command did: one JSON document with --json, else the human text,
   * omitted with --quiet (the exit code says it worked). `secret`, a generated
   * secret the user sees only this once (the PKCS#12 password), is never
   * lost: with --quiet it is printed alone, one line, for a script to read.
   */
  result(json: unknown, human: () => string, secret?: string): void {
    if (this.options.json) process.stdout.write(JSON.stringify(json, null, 2) + '\n');
    else if (!this.options.quiet) writeLine(human());
    else if (secret) writeLine(secret);
  }

  /**
   * What the user asked to see (a table, a certificate's details, doctor's
   * checks): one JSON document with --json, else the human text, with --quiet
   * too: -q drops progress and hints, never the answer.
   */
  report(json: unknown, human: () => string): void {
    if (this.options.json) process.stdout.write(JSON.stringify(json, null, 2) + '\n');
    else writeLine(human());
  }

  /**
   * The --json result when it is an array whose elements are already JSON
   * text, indented as JSON.stringify(array, null, 2) indents them: the bytes
   * `result` would print, written in pieces as they come, so 100,000
   * certificates never sit in memory as one 30 MB document (issue 6).
   */
  jsonArray(elements: Iterable<string>): void {
    const out = chunkedStdout();
    let empty = true;
    for (const element of elements) {
      out.put(empty ? '[\n' : ',\n');
      out.put(element);
      empty = false;
    }
    out.put(empty ? '[]\n' : '\n]\n');
    out.flush();
  }

  /**
   * The human report as lines that come one at a time (a long table);
   * printed with --quiet too, as `report`. `whole`: lines the user asked to
   * see whole (`--wide`), left for the terminal to fold.
   */
  lines(lines: Iterable<string>, { whole = false } = {}): void {
    const out = chunkedStdout();
    const width = whole ? undefined : widthOf(process.stdout);
    for (const line of lines) out.put(fitText(line, width) + '\n');
    out.flush();
  }

  /**
   * A table for stdout, fitted to its terminal by the spec's steps
   * (layout.ts fitTable). Whole cells into a pipe, or with `whole`
   * (`--wide`), as lines()'s. Cells from a certificate or the record must
   * be made printable first (printable).
   */
  table(spec: TableSpec, { whole = false } = {}): string[] {
    return fitTable(spec, whole ? undefined : widthOf(process.stdout));
  }

  /** Columns of stdout's terminal, undefined into a pipe or file (nothing is fitted then). */
  get width(): number | undefined {
    return widthOf(process.stdout);
  }

  /** Raw data the user asked for on stdout (PEM); printed even with --quiet. */
  data(text: string | Uint8Array): void {
    process.stdout.write(text);
  }

  /** Progress and next steps, on stderr; silent with --quiet or --json. */
  note(message: string): void {
    if (!this.options.quiet && !this.options.json) writeFitted(process.stderr, message);
  }

  warn(message: string): void {
    writeFitted(process.stderr, `${this.paint('warning:', '33')} ${message}`);
  }

  /** A progress line on stderr's terminal, redrawn in place (`issued 3/12: name`), cut to fit; '' clears it. */
  progress(text: string): void {
    const width = widthOf(process.stderr) ?? Infinity;
    process.stderr.write(`\r\u001b[K${shorten(text, width - 1)}`);
  }

  /** A line on stderr that is neither progress nor a warning and shows with --quiet too (a request log, a check to make). */
  tell(message: string): void {
    writeFitted(process.stderr, message);
  }

  paint(text: string, code: string, stream: NodeJS.WriteStream = process.stderr): string {
    return this.options.color && stream.isTTY && !process.env.NO_COLOR ? `\u001b[${code}m${text}\u001b[0m` : text;
  }

  bold(text: string): string {
    return this.paint(text, '1', process.stdout);
  }
}

/**
 * Text from a certificate or the record made safe for a terminal: control
 * characters (a CSR's CN may carry ESC sequences that rewrite the screen)
 * are shown escaped, as \u001b.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One line of a table: every cell but the last padded to its column's width, two spaces between. */
export function tableLine(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
}


/**
 * A QR code for `url` on `stream` (stdout for `qr`): black on white with
 * ANSI colours, also into a pipe or a file (`cat` or `less -R` shows a code
 * that scans, whatever the terminal's theme), unless --no-color or NO_COLOR
 * ask for no colours (https://no-color.org): then it is drawn in the
 * terminal's text colour. When the terminal is narrower than the code, the
 * lines would wrap into an unreadable pattern: say so and suggest the image files.
 */
export async function printQr(url: string, out: Output, stream: NodeJS.WriteStream = process.stdout): Promise<void> {
  const { qrForTerminal } = await import('../formats/qr');
  const qr = qrForTerminal(url, { color: out.options.color && !process.env.NO_COLOR });
  if (stream.isTTY && stream.columns && stream.columns < qr.columns) {
    out.warn(`the terminal is ${stream.columns} columns wide and the QR code needs ${qr.columns}; widen it, or use pocketca qr URL --png FILE`);
  }
  stream.write(qr.lines.join('\n') + '\n');
}

/**
 * The bottom of the screen while a link is served (`share`, `enroll`): the
 * line above the code (a generated password, repeated there so it is on the
 * screen while the phone asks for it), the QR code, and the URL as the last
 * line (issue 10). At a terminal too small for the whole code, it is not
 * drawn (half a code scrolled off is worse than none): the user is told the
 * size needed, and the code is drawn once the window has grown to fit.
 * Returns a function that stops watching the window.
 */
export async function showLinkCode(url: string, out: Output, stream: NodeJS.WriteStream, above?: string): Promise<() => void> {
  const { qrForTerminal } = await import('../formats/qr');
  // Always black on white, --no-color too: this screen is for a phone to scan, on any terminal theme.
  const qr = qrForTerminal(url);
  const block = [...(above === undefined ? [] : [above]), ...qr.lines, url];
  // The code, the lines with it, and the line the cursor waits on.
  const columns = Math.max(qr.columns, url.length, above?.length ?? 0);
  const rows = block.length + 1;
  const fits = () => !stream.isTTY || !stream.columns || !stream.rows || (stream.columns >= columns && stream.rows >= rows);
  const draw = () => stream.write(block.join('\n') + '\n');
  if (fits()) {
    draw();
    return () => undefined;
  }
  out.warn(`the terminal is ${stream.columns}x${stream.rows} and the QR code needs ${columns}x${rows} (columns x rows): enlarge the window and it is drawn; or type the link below`);
  if (above !== undefined) stream.write(above + '\n');
  stream.write(url + '\n');
  // Drawn again each time the window goes from too small to big enough (a shrink garbles what was drawn).
  let fitting = false;
  const onResize = () => {
    const now = fits();
    if (now && !fitting) draw();
    fitting = now;
  };
  stream.on('resize', onResize);
  return () => stream.off('resize', onResize);
}
