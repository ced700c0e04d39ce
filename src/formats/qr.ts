/**
 * QR codes for a URL: text in, terminal art / PNG bytes / SVG text out.
 *
 * The text is encoded exactly as given (no URL normalisation), so what a phone
 * decodes is byte for byte what the user typed or what `share` printed.
 * Error correction M (15%): the default of the qrcode package and of most
 * generators; it survives a slightly blurred photo of a terminal without
 * growing the symbol much.
 */
import QRCode from 'qrcode';
import { InputTooLargeError, InvalidUrlError } from '../errors';

/** Longest text accepted. A version-40 symbol at level M holds 2,331 bytes; a
 * code that dense cannot be photographed from a terminal anyway, and no link
 * pocketca prints comes near it. */
export const MAX_QR_TEXT_BYTES = 2048;

const ERROR_CORRECTION = 'M';

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

export function qrMatrix(text: string): QrMatrix {
  const qr = QRCode.create(checkQrUrl(text), { errorCorrectionLevel: ERROR_CORRECTION });
  const { size, data } = qr.modules;
  return { size, version: qr.version, dark: (row, col) => Boolean(data[row * size + col]) };
}

/**
 * The compact terminal rendering: two modules per character cell with half
 * blocks, black on a white background (ANSI colours, so it reads the same on
 * dark and light terminal themes). Width in columns: the symbol's size + 2.
 */
export async function qrToTerminal(text: string): Promise<string> {
  checkQrUrl(text);
  const art = await QRCode.toString(text, { type: 'terminal', small: true, errorCorrectionLevel: ERROR_CORRECTION });
  // The renderer ends with an empty, coloured line; drop it.
  return art.replace(/\n\u001b\[47m\u001b\[30m\u001b\[0m$/, '\n');
}

/** Columns the terminal rendering of `text` needs. */
export function terminalWidth(text: string): number {
  return qrMatrix(text).size + 2;
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
