/**
 * Reading QR codes back in tests: a grid of modules rasterised to a PGM (with
 * the 4-module quiet zone of ISO/IEC 18004) and decoded by a real decoder,
 * zbarimg (Debian's zbar-tools), whatever drew the code (an SVG, a terminal).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tool } from './cli';

/** Modules: grid[row][col] true for dark. */
export type ModuleGrid = boolean[][];

/** The grid as a binary PGM, `scale` pixels per module, with a `quiet`-module light border. */
export function gridToPgm(grid: ModuleGrid, scale = 6, quiet = 4): Buffer {
  const rows = grid.length + 2 * quiet;
  const cols = Math.max(...grid.map((r) => r.length)) + 2 * quiet;
  const dark = (r: number, c: number) => grid[r - quiet]?.[c - quiet] === true;
  const pixels = Buffer.alloc(rows * scale * cols * scale);
  for (let y = 0; y < rows * scale; y++) {
    for (let x = 0; x < cols * scale; x++) pixels[y * cols * scale + x] = dark(Math.floor(y / scale), Math.floor(x / scale)) ? 0 : 255;
  }
  return Buffer.concat([Buffer.from(`P5\n${cols * scale} ${rows * scale}\n255\n`), pixels]);
}

/** What zbarimg decodes from an image file (fails the test when it finds no code). */
export function zbar(file: string): string {
  const r = tool('zbarimg', ['--raw', '-q', file]);
  assert.equal(r.code, 0, `zbarimg found no code in ${file}: ${r.stderr}`);
  return r.stdout;
}

/** zbarimg's reading of a module grid, through a PGM written to `file`. */
export function decodeGrid(grid: ModuleGrid, file: string): string {
  writeFileSync(file, gridToPgm(grid));
  return zbar(file);
}

/**
 * The modules drawn by half-block text (two module rows per line: ▀ top, ▄
 * bottom, █ both, space neither), as a terminal shows it; lines shorter than
 * the widest (a terminal capture drops trailing spaces) are light to the end.
 */
export function halfBlocksToGrid(lines: string[]): ModuleGrid {
  const width = Math.max(...lines.map((l) => [...l].length));
  const grid: ModuleGrid = [];
  for (const line of lines) {
    const cells = [...line.padEnd(width)];
    grid.push(cells.map((c) => c === '▀' || c === '█'), cells.map((c) => c === '▄' || c === '█'));
  }
  return grid;
}
