/**
 * The user documentation (README.md and docs/*.md) read as data for
 * test/e2e/docs.test.ts: the fenced ```sh blocks and the shell commands in
 * them, the inline code of the prose, the `# writes FILES` promises and the
 * links. Plain string work, no I/O but reading the pages.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli';

export interface DocPage {
  /** Relative to the repository: `README.md`, `docs/phone.md`. */
  path: string;
  text: string;
}

/** README.md, then docs/*.md in name order. */
export function docPages(): DocPage[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs].map((path) => ({ path, text: readFileSync(join(ROOT, path), 'utf8') }));
}

export interface FencedBlock {
  page: string;
  /** The info string after the fence: `sh`, `nginx`, or empty. */
  lang: string;
  /** 1-based line of the first line inside the fence. */
  line: number;
  body: string;
  /** Why the docs test does not run it: the `<!-- docs-test: skip (WHY) -->` right before the block. */
  skip?: string;
}

const SKIP = /^<!-- docs-test: skip \((.+)\) -->$/;

/** Every fenced block of a page. A `docs-test` comment that is not a skip with its reason, or not right before a block, throws. */
export function fencedBlocks(page: DocPage): FencedBlock[] {
  const lines = page.text.split('\n');
  const blocks: FencedBlock[] = [];
  let pendingSkip: { reason: string; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.includes('docs-test')) {
      const m = SKIP.exec(line.trim());
      if (!m) throw new Error(`${page.path}:${i + 1}: a docs-test comment is <!-- docs-test: skip (why) -->: ${line}`);
      pendingSkip = { reason: m[1]!, line: i + 1 };
      continue;
    }
    const fence = /^```(\S*)\s*$/.exec(line);
    if (fence) {
      const start = i + 1;
      let end = start;
      while (end < lines.length && lines[end] !== '```') end++;
      if (end === lines.length) throw new Error(`${page.path}:${i + 1}: a fence that is never closed`);
      blocks.push({ page: page.path, lang: fence[1]!, line: start + 1, body: lines.slice(start, end).join('\n'), skip: pendingSkip?.reason });
      pendingSkip = undefined;
      i = end;
      continue;
    }
    if (pendingSkip && line.trim() !== '') throw new Error(`${page.path}:${pendingSkip.line}: a docs-test skip must come right before a fenced block`);
  }
  if (pendingSkip) throw new Error(`${page.path}:${pendingSkip.line}: a docs-test skip with no block after it`);
  return blocks;
}

export interface ShellCommand {
  /** `page:line` of its first line. */
  where: string;
  /** As written, continuation lines and quoted newlines included, without its comment. */
  code: string;
  /** Its comment (`# writes ...`), without the `#`; empty when none. */
  comment: string;
}

/**
 * The commands of a shell block: a newline ends one unless it is escaped
 * (`\`) or inside quotes; a `#` that starts a word outside quotes starts a
 * comment (the last one on a command's lines is its comment).
 */
export function shellCommands(block: FencedBlock): ShellCommand[] {
  const commands: ShellCommand[] = [];
  let code = '';
  let comment = '';
  let quote: "'" | '"' | undefined;
  let inComment = false;
  let startLine = block.line;
  let line = block.line;
  const flush = () => {
    if (code.trim() !== '') commands.push({ where: `${block.page}:${startLine}`, code: code.trim(), comment: comment.trim() });
    code = '';
    comment = '';
  };
  const text = block.body;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      if (inComment) inComment = false;
      if (quote) {
        code += c;
        continue;
      }
      if (code.endsWith('\\')) {
        code = code.slice(0, -1) + ' ';
        continue;
      }
      flush();
      startLine = line;
      continue;
    }
    if (inComment) {
      comment += c;
      continue;
    }
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') {
        code += c + (text[++i] ?? '');
        continue;
      }
      code += c;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    if (c === '#' && (code === '' || /\s$/.test(code))) {
      inComment = true;
      comment = '';
      continue;
    }
    code += c;
  }
  flush();
  return commands;
}

/** The files a `# writes a, b and c (0600); remark` comment promises, as written (shell words: `~` and `$(...)` expand). */
export function promisedFiles(comment: string): string[] | undefined {
  const m = /^writes\s+(.*)$/.exec(comment);
  if (!m) return undefined;
  return m[1]!
    .split(';')[0]!
    .split(/,\s*|\s+and\s+/)
    .map((item) => item.trim().split(/\s+/)[0]!.replace(/`/g, ''))
    .filter((f) => f !== '');
}

/** Prose outside fenced blocks and HTML comments, as paragraphs: list items and table rows each on their own, lines joined. */
export function proseParagraphs(page: DocPage): { where: string; text: string }[] {
  const lines = page.text.split('\n');
  const paragraphs: { where: string; text: string }[] = [];
  let current: string[] = [];
  let start = 0;
  const flush = () => {
    if (current.length) paragraphs.push({ where: `${page.path}:${start}`, text: current.join(' ') });
    current = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^```/.test(line)) {
      flush();
      i++;
      while (i < lines.length && lines[i] !== '```') i++;
      continue;
    }
    if (line.trim() === '' || /^<!--.*-->$/.test(line.trim())) {
      flush();
      continue;
    }
    if (/^\s*([-*] |\d+\. |\|)/.test(line) || /^#/.test(line)) flush();
    if (!current.length) start = i + 1;
    current.push(line.trim());
    if (/^\s*\|/.test(line) || /^#/.test(line)) flush();
  }
  flush();
  return paragraphs;
}

/** The inline code spans of a paragraph, with a table's `\|` read as `|`. */
export function codeSpans(paragraph: string): string[] {
  return [...paragraph.matchAll(/(`+)([\s\S]+?)\1/g)].map((m) => m[2]!.trim().replace(/\\\|/g, '|'));
}

/** A `pocketca` command line found in the docs, by the words after `pocketca`. */
export interface PocketcaUse {
  where: string;
  /** The words before the command (global options), the command, and the words after it. */
  globals: string[];
  command?: string;
  words: string[];
}

/**
 * Every use of `pocketca` in a piece of shell or inline code: the text is cut
 * at `|`, `&&`, `;`, `(`, `)` and backticks, and each piece whose word is
 * `pocketca` (or a path ending in /pocketca) is a use.
 */
export function pocketcaUses(code: string, where: string): PocketcaUse[] {
  const uses: PocketcaUse[] = [];
  for (const piece of code.split(/\|\||&&|[|;()`]|\$\(/)) {
    const words = piece.trim().split(/\s+/).filter(Boolean);
    const at = words.findIndex((w) => w === 'pocketca' || /\/pocketca$/.test(w));
    if (at < 0) continue;
    const rest = words.slice(at + 1);
    const globals: string[] = [];
    let i = 0;
    for (; i < rest.length && rest[i]!.startsWith('-'); i++) {
      globals.push(rest[i]!);
      if (rest[i] === '--home') globals.push(rest[++i] ?? '');
    }
    uses.push({ where, globals, command: rest[i], words: rest.slice(i + 1) });
  }
  return uses;
}

/** The options named in some words: `--out-dir`, `-q`; `--a/--b` is two; values, `-` and `--` are not options. */
export function optionsIn(words: string[]): string[] {
  return words
    .flatMap((w) => w.split('/'))
    .map((w) => w.replace(/[),.;:'"]+$/, '').split('=')[0]!)
    .filter((w) => /^--?[A-Za-z]/.test(w) && !w.includes('*') && !w.includes('...'));
}

/** Markdown links to files of the repository: `[text](docs/phone.md#anchor)`, not URLs. */
export function relativeLinks(page: DocPage): { where: string; target: string; anchor?: string }[] {
  return proseParagraphs(page).flatMap((p) =>
    [...p.text.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1]!)
      .filter((href) => !/^[a-z]+:/.test(href))
      .map((href) => {
        const [target, anchor] = href.split('#');
        return { where: p.where, target: target!, anchor };
      }),
  );
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function headingAnchors(page: DocPage): Set<string> {
  const anchors = new Set<string>();
  const withoutCode = page.text.replace(/^```[\s\S]*?^```$/gm, '');
  for (const m of withoutCode.matchAll(/^#{1,6} (.+)$/gm)) {
    anchors.add(
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    );
  }
  return anchors;
}
