/**
 * `pocketca qr URL --png FILE --svg FILE`: render the QR code and write the
 * image files (atomically, like every file pocketca writes). A URL carries no
 * secret here (share's link is single-use and holds no password), so the
 * images are public files.
 */
import { checkQrUrl, qrMatrix, qrToPng, qrToSvg } from '../formats/qr';
import { PUBLIC } from '../host/files';
import { pngImage, svgImage } from '../host/output-kinds';
import { resolveOutput, writeOutput, type StdoutSink } from '../host/output-target';

export interface ExportQrParams {
  /** The text to encode, exactly as given. */
  url: string;
  /** Write a PNG here; default none. */
  png?: string;
  /** Write an SVG here; default none. */
  svg?: string;
  /** The CA home, where no image may go. */
  home: string;
  /** Replace files that are not PNG / SVG images; default false. */
  force?: boolean;
  /** Where `-` goes. */
  stdout?: StdoutSink;
}

export interface ExportQrResult {
  url: string;
  /** QR version (1-40): the symbol is 17 + 4 x version modules wide. */
  version: number;
  files: { png?: string; svg?: string };
}

export async function exportQr(p: ExportQrParams): Promise<ExportQrResult> {
  const url = checkQrUrl(p.url);
  const { version } = qrMatrix(url);
  // Check both targets before writing either, so a bad --svg leaves no --png behind.
  const rule = (flag: string, what: string, sameKind: (b: Buffer) => boolean) => ({ flag, what, sameKind, force: Boolean(p.force), stdout: p.stdout });
  const png = p.png === undefined ? undefined : resolveOutput(p.home, p.png, rule('--png', 'a PNG image', pngImage));
  const svg = p.svg === undefined ? undefined : resolveOutput(p.home, p.svg, rule('--svg', 'an SVG image', svgImage));
  const files: ExportQrResult['files'] = {};
  if (png) {
    writeOutput(png, await qrToPng(url), PUBLIC);
    files.png = png.path;
  }
  if (svg) {
    writeOutput(svg, await qrToSvg(url), PUBLIC);
    files.svg = svg.path;
  }
  return { url, version, files };
}
