/**
 * QR codes for a URL: text in, terminal art / PNG bytes / SVG text out.
 *
 * The text is encoded exactly as given (no URL normalisation), so what a phone
 * decodes is byte for byte what the user typed or what `share` printed.
 * Files (PNG, SVG) use error correction M (15%): the default of the qrcode
 * package and of most generators; it survives a print or a blurred photo.
 * The terminal uses L (7%): a terminal is flat and high-contrast, and L keeps a
 * `share` link (about 50 characters) at version 3, so the code and the URL fit
 * an 80x24 terminal (issue 10).
 */
import QRCode from 'qrcode';
import { InputTooLargeError, InvalidUrlError } from '../errors';

/** Longest text accepted. A version-40 symbol at level M holds 2,331 bytes; a
 * code that dense cannot be photographed from a terminal anyway, and no link
 * pocketca prints comes near it. */
export const MAX_QR_TEXT_BYTES = 2048;

const ERROR_CORRECTION = 'M';
const TERMINAL_ERROR_CORRECTION = 'L';
/** Light modules around the symbol in the terminal: ISO/IEC 18004 asks for 4, but
 * a terminal has rows to spare for only 2, and phone scanners read a 2-module
 * margin on a screen (the terminal's own background lies beyond it). */
const TERMINAL_MARGIN = 2;

/**
 * Check that `text` is a URL worth putting in a QR code: it parses as an
 * absolute URL (WHATWG, what the phone's browser uses), has no whitespace or
 * control characters (a scanner would cut it there), and fits.
 */
export function checkQrUrl(text: string): string {
  if (!text) throw new InvalidUrlError('the URL is empty');
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(text)) throw new InvalidUrlError('the URL contains whitespace or control characters');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_QR_TEXT_BYTES) throw new InputTooLargeError(`the URL is ${bytes} bytes; a QR code that a phone can read from a screen holds at most ${MAX_QR_TEXT_BYTES}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidUrlError(`not a URL: ${JSON.stringify(text.length > 80 ? text.slice(0, 80) + '…' : text)}`);
  }
  if (!/^[a-z][a-z0-9+.-]*:$/.test(url.protocol)) throw new InvalidUrlError('the URL has no scheme');
  return text;
}

/** The module matrix of the symbol: `size` x `size`, true for dark modules. */
export interface QrMatrix {
  size: number;
  version: number;
  dark: (row: number, col: number) => boolean;
}

export function qrMatrix(text: string, errorCorrectionLevel: 'L' | 'M' = ERROR_CORRECTION): QrMatrix {
  const qr = QRCode.create(checkQrUrl(text), { errorCorrectionLevel });
  const { size, data } = qr.modules;
  return { size, version: qr.version, dark: (row, col) => Boolean(data[row * size + col]) };
}

/** The terminal rendering: its lines (no newlines) and the cells it covers. */
export interface TerminalQr {
  lines: string[];
  columns: number;
  rows: number;
}

const HALF_BLOCKS = [' ', '\u2584', '\u2580', '\u2588']; // [top dark][bottom dark]: none, lower, upper, full

/**
 * The compact terminal rendering: two modules per character cell with half
 * blocks, black on a white background (ANSI colours, so it reads the same on
 * dark and light terminal themes), error correction L and a 2-module margin.
 * A share link of up to 53 bytes is version 3: 33 columns by 17 rows.
 * `color: false` leaves the colours out: dark modules are drawn in the text
 * colour, which is right on a light background only.
 */
export function qrForTerminal(text: string, { color = true }: { color?: boolean } = {}): TerminalQr {
  const m = qrMatrix(text, TERMINAL_ERROR_CORRECTION);
  const span = m.size + 2 * TERMINAL_MARGIN;
  const dark = (r: number, c: number) => {
    const row = r - TERMINAL_MARGIN;
    const col = c - TERMINAL_MARGIN;
    return row >= 0 && col >= 0 && row < m.size && col < m.size && m.dark(row, col);
  };
  const lines: string[] = [];
  for (let r = 0; r < span; r += 2) {
    let cells = '';
    for (let c = 0; c < span; c++) cells += HALF_BLOCKS[(dark(r, c) ? 2 : 0) + (dark(r + 1, c) ? 1 : 0)];
    lines.push(color ? `\u001b[47m\u001b[30m${cells}\u001b[0m` : cells);
  }
  return { lines, columns: span, rows: lines.length };
}

/** The terminal rendering as text, one line per row, ending with a newline. */
export async function qrToTerminal(text: string): Promise<string> {
  return qrForTerminal(text).lines.join('\n') + '\n';
}

/** Columns the terminal rendering of `text` needs. */
export function terminalWidth(text: string): number {
  return qrForTerminal(text).columns;
}

/** PNG bytes: 8 pixels per module and the 4-module quiet zone ISO/IEC 18004 asks for. */
export async function qrToPng(text: string): Promise<Buffer> {
  checkQrUrl(text);
  return QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: ERROR_CORRECTION, scale: 8, margin: 4 });
}

/** A standalone SVG document (one path; scales without blur), 4-module quiet zone. */
export async function qrToSvg(text: string): Promise<string> {
  checkQrUrl(text);
  const svg = await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: ERROR_CORRECTION, margin: 4 });
  return `<?xml version="1.0" encoding="UTF-8"?>\n${svg.endsWith('\n') ? svg : svg + '\n'}`;
}
