/**
 * Widths and wrapping at the terminal, decided here and nowhere else (STYLE
 * "Third release"; SPEC "Everyday use, second pass"). Commands hand Output
 * (output.ts) logical lines, table rows and prose; Output fits every line it
 * prints through this module, so no command lays out text for a width, and a
 * new command cannot forget to.
 *
 * - The width is the terminal's columns at a TTY (80 when the terminal does
 *   not say); into a pipe or a file nothing is wrapped: a script reads whole
 *   lines, and `grep` finds a line it was promised.
 * - Prose wraps at spaces. A continuation line hangs under what the first
 *   line introduced: under the value of a `label  value` line (two spaces
 *   end the label), after a list marker (`1.`, `-`), after `error: `,
 *   `hint: `, `warning: ` or `next: `, else at the line's own indentation.
 * - A word too long for its line breaks where a person would expect: a
 *   fingerprint at a colon, in halves of equal length so two fingerprints
 *   compare line by line; a path after a slash. A URL never breaks: a link
 *   is opened, scanned or copied whole, so it moves to a line of its own,
 *   from the first column, and stays whole even if that line is too long
 *   (the terminal then folds it, and copying the folded line still gives
 *   the whole link).
 * - Tables fit by the steps each command names (drop a column, shorten one
 *   to a prefix ending in `…`), then the last column may wrap under itself.
 *
 * Widths count code points outside ANSI colour sequences: pocketca prints
 * ASCII and escapes control characters (output.ts printable); wide CJK
 * characters in a CSR's subject may still overrun by their extra columns.
 */

/** Assumed at a terminal that does not tell its size (a serial console, some CI ptys). */
export const DEFAULT_COLUMNS = 80;
/** Below this, wrapping helps nobody: text is laid out for this many columns. */
const MIN_COLUMNS = 20;
/** `--help` reads best at this width, even at a wider terminal (and the man page holds the same text). */
export const HELP_COLUMNS = 80;

const ANSI = /\u001b\[[0-9;]*m/g;

/** Columns `text` covers on a terminal: code points, colour sequences taking none. */
export function visibleWidth(text: string): number {
  let n = 0;
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  for (const _ of text.replace(ANSI, '')) n++;
  return n;
}

/** The width to fit text to on `stream`: its columns at a terminal, undefined (no wrapping) into a pipe or file. */
export function widthOf(stream: { isTTY?: boolean; columns?: number }): number | undefined {
  if (!stream.isTTY) return undefined;
  return Math.max(MIN_COLUMNS, stream.columns && stream.columns > 0 ? stream.columns : DEFAULT_COLUMNS);
}

/** `--help`'s width: the terminal's when narrower than HELP_COLUMNS, else HELP_COLUMNS (also into a pipe: help is for people). */
export function helpWidthOf(stream: { isTTY?: boolean; columns?: number }): number {
  return Math.min(widthOf(stream) ?? HELP_COLUMNS, HELP_COLUMNS);
}

const URL_TOKEN = /^[a-z][a-z0-9+.-]*:\/\/\S+$/i;
const FINGERPRINT = /^([0-9A-Fa-f]{2}:){3,}[0-9A-Fa-f]{2}[,.;)]?$/;

/**
 * Where the continuation lines of `line` start (see the module comment).
 * Only the first line's shape counts; a label takes at most half the width.
 */
export function hangingIndent(line: string, width: number): number {
  const plain = line.replace(ANSI, '');
  const label = /^ *\S+(?: \S+){0,2}? {2,}(?=\S)/.exec(plain);
  if (label && label[0].length <= width / 2) return label[0].length;
  const marker = /^ *(?:\d+\.|[-*•]) +(?=\S)/.exec(plain);
  if (marker && marker[0].length <= width / 2) return marker[0].length;
  const prefix = /^(?:error|hint|warning|next): +(?=\S)/.exec(plain);
  if (prefix) return prefix[0].length;
  const lead = /^ */.exec(plain)![0].length;
  return lead <= width / 2 ? lead : 0;
}

/**
 * Pieces of a word too long for `first` columns (what is left of the current
 * line) and then `rest` columns (a continuation line): a fingerprint at
 * colons in equal pieces, anything else after the last `/` (then `:`, `,`,
 * `=`, `-`, `_`, `.`) that fits, else cut at the width.
 */
function breakWord(word: string, first: number, rest: number): string[] {
  if (FINGERPRINT.test(word)) {
    const pairs = word.split(':');
    // Equal pieces: as many lines as needed at `rest`, the pairs spread evenly.
    const perLine = Math.max(1, Math.floor((rest + 1) / 3));
    const lines = Math.ceil(pairs.length / perLine);
    const each = Math.ceil(pairs.length / lines);
    const pieces: string[] = [];
    for (let i = 0; i < pairs.length; i += each) pieces.push(pairs.slice(i, i + each).join(':') + (i + each < pairs.length ? ':' : ''));
    // The first piece goes on the current line only if it fits there.
    return visibleWidth(pieces[0]!) <= first ? pieces : ['', ...pieces];
  }
  const pieces: string[] = [];
  let rem = word;
  let room = first;
  while (visibleWidth(rem) > room) {
    const window = rem.slice(0, room);
    let cut = -1;
    for (const sep of ['/', ':', ',', '=', '-', '_', '.']) {
      const at = window.lastIndexOf(sep);
      // A break right at the start helps nothing; one in the first quarter of a continuation line wastes it.
      if (at > 0 && at + 1 >= Math.min(room, rest) / 4) {
        cut = at + 1;
        break;
      }
    }
    if (cut <= 0) {
      if (room < rest && pieces.length === 0) {
        // Nothing sensible fits on what is left of the current line: start the word on the next one.
        pieces.push('');
        room = rest;
        continue;
      }
      cut = Math.max(1, room);
    }
    pieces.push(rem.slice(0, cut));
    rem = rem.slice(cut);
    room = rest;
  }
  pieces.push(rem);
  return pieces;
}

/**
 * One logical line as the lines a terminal `width` wide shows without
 * folding. `hang` overrides the detected hanging indent (a table's last
 * column). Spaces inside the first line (a label's padding) are kept.
 */
export function wrapLine(line: string, width: number, hang?: number): string[] {
  if (visibleWidth(line) <= width) return [line];
  const indent = Math.min(hang ?? hangingIndent(line, width), Math.floor(width / 2));
  const pad = ' '.repeat(indent);
  const lead = /^ */.exec(line)![0];
  const words = line.slice(lead.length).match(/\S+ */g) ?? [];
  const out: string[] = [];
  let current = lead;
  /** Columns used on the current line by text (its trailing spaces not counted). */
  const used = () => visibleWidth(current.trimEnd());
  const fresh = () => current.trim() === '';
  const flush = () => {
    if (!fresh()) out.push(current.trimEnd());
    current = pad;
  };
  for (const token of words) {
    const word = token.trimEnd();
    const spaces = token.slice(word.length);
    const gap = fresh() ? 0 : visibleWidth(current) - used();
    const w = visibleWidth(word);
    if (used() + gap + w <= width) {
      current += word + spaces;
      continue;
    }
    if (URL_TOKEN.test(word)) {
      // Whole, under the indent if it fits there, else from the first column.
      if (!fresh()) flush();
      if (indent + w > width) current = '';
      current += word + spaces;
      continue;
    }
    if (indent + w <= width && !fresh()) {
      flush();
      current += word + spaces;
      continue;
    }
    if (word.includes('\u001b')) {
      // A coloured word is not cut (the colour would leak): it goes whole.
      if (!fresh()) flush();
      current += word + spaces;
      continue;
    }
    const room = fresh() ? width - visibleWidth(current) : width - used() - gap;
    const pieces = breakWord(word, room, width - indent);
    pieces.forEach((piece, i) => {
      if (i > 0) flush();
      current += piece;
    });
    current += spaces;
  }
  if (!fresh() || out.length === 0) out.push(current.trimEnd());
  return out;
}

/** Every line of `text` fitted to `width`; unchanged when width is undefined (a pipe). */
export function fitText(text: string, width: number | undefined): string {
  if (width === undefined) return text;
  return text
    .split('\n')
    .flatMap((line) => wrapLine(line, width))
    .join('\n');
}

/**
 * `label  value` lines, the values in one column: two spaces at least after
 * the longest label (or `minWidth`, so that outputs with fewer labels keep the
 * same column), which is what tells fitText where a long value's next line
 * starts.
 */
export function fields(pairs: readonly (readonly [string, string])[], indent = '', minWidth = 0): string[] {
  const w = Math.max(minWidth, ...pairs.map(([label]) => label.length));
  return pairs.map(([label, value]) => `${indent}${label.padEnd(w)}  ${value}`);
}

/** What a table may give up, in order, until it fits: a whole column, or a column's width (its cells then end in `…`). */
export type FitStep = { drop: string } | { shorten: string; to: number };

export interface TableSpec {
  header: readonly string[];
  /** Cells as printed (made printable by the caller); one array per row, as many as header. */
  rows: readonly (readonly string[])[];
  /** Applied in order while the table is wider than the terminal. */
  steps?: readonly FitStep[];
  /** The last column wraps under itself (hanging at its start) once it has at least this many columns; default: it is cut with `…` like the others. */
  wrapLast?: number;
  /** Print the header line; default true. */
  showHeader?: boolean;
}

/** `text` cut to `width` columns, ending in … when cut. */
export function shorten(text: string, width: number): string {
  if (visibleWidth(text) <= width) return text;
  const chars = [...text.replace(ANSI, '')];
  return width <= 0 ? '' : chars.slice(0, width - 1).join('') + '…';
}

/**
 * A plain text table, two spaces between columns, every column but the last
 * padded. With a width (a terminal) it is fitted: the steps are applied
 * until the table fits, then the last column wraps (wrapLast) or is cut.
 * Without one (a pipe) every cell is printed whole.
 */
export function fitTable(spec: TableSpec, width: number | undefined): string[] {
  const all = spec.header.map((h, i) => ({ header: h, index: i, width: Math.max(visibleWidth(h) * (spec.showHeader === false ? 0 : 1), 0) }));
  for (const row of spec.rows) row.forEach((cell, i) => (all[i]!.width = Math.max(all[i]!.width, visibleWidth(cell))));
  let columns = all;
  const lastNeeds = () => {
    const last = columns[columns.length - 1]!;
    return spec.wrapLast === undefined ? last.width : Math.min(last.width, spec.wrapLast);
  };
  const total = () => columns.slice(0, -1).reduce((sum, c) => sum + c.width + 2, 0) + lastNeeds();
  if (width !== undefined) {
    for (const step of spec.steps ?? []) {
      if (total() <= width) break;
      if ('drop' in step) columns = columns.filter((c) => c.header !== step.drop);
      else {
        const column = columns.find((c) => c.header === step.shorten);
        if (column) column.width = Math.min(column.width, Math.max(step.to, visibleWidth(column.header)));
      }
    }
  }
  const line = (cells: readonly string[]): string[] => {
    const shown = columns.map((c, i) => {
      const cell = cells[c.index] ?? '';
      const isLast = i === columns.length - 1;
      const fitted = width === undefined || isLast ? cell : shorten(cell, c.width);
      return isLast ? fitted : fitted + ' '.repeat(Math.max(0, c.width - visibleWidth(fitted)));
    });
    const text = shown.join('  ');
    if (width === undefined) return [text];
    const start = columns.slice(0, -1).reduce((sum, c) => sum + c.width + 2, 0);
    if (spec.wrapLast !== undefined && width - start >= Math.min(spec.wrapLast, width)) return wrapLine(text, width, start);
    return [shorten(text, width)];
  };
  return [...(spec.showHeader === false ? [] : line(spec.header)), ...spec.rows.flatMap(line)];
}
