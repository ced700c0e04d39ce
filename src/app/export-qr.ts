/**
 * `pocketca qr URL --png FILE --svg FILE`: render the QR code and write the
 * image files (atomically, like every file pocketca writes). A URL carries no
 * secret here (share's link is single-use and holds no password), so the
 * images are public files.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors';
import { checkQrUrl, qrMatrix, qrToPng, qrToSvg } from '../formats/qr';
import { PUBLIC, writeFileAtomic } from './files';

export interface ExportQrParams {
  /** The text to encode, exactly as given. */
  url: string;
  /** Write a PNG here; default none. */
  png?: string;
  /** Write an SVG here; default none. */
  svg?: string;
}

export interface ExportQrResult {
  url: string;
  /** QR version (1-40): the symbol is 17 + 4 x version modules wide. */
  version: number;
  files: { png?: string; svg?: string };
}

function checkTarget(path: string, flag: string): string {
  const full = resolve(path);
  let parentIsDir = false;
  try {
    parentIsDir = statSync(dirname(full)).isDirectory();
  } catch {
    /* reported below */
  }
  if (!parentIsDir) throw new UsageError(`${flag}: directory ${dirname(full)} does not exist`);
  try {
    if (statSync(full).isDirectory()) throw new UsageError(`${flag}: ${full} is a directory`);
  } catch (error) {
    if (error instanceof UsageError) throw error;
  }
  return full;
}

export async function exportQr(p: ExportQrParams): Promise<ExportQrResult> {
  const url = checkQrUrl(p.url);
  const { version } = qrMatrix(url);
  // Check both targets before writing either, so a bad --svg leaves no --png behind.
  const png = p.png === undefined ? undefined : checkTarget(p.png, '--png');
  const svg = p.svg === undefined ? undefined : checkTarget(p.svg, '--svg');
  const files: ExportQrResult['files'] = {};
  if (png) {
    writeFileAtomic(png, await qrToPng(url), PUBLIC);
    files.png = png;
  }
  if (svg) {
    writeFileAtomic(svg, await qrToSvg(url), PUBLIC);
    files.svg = svg;
  }
  return { url, version, files };
}
