import type { Command } from 'commander';
import type { FitStep } from '../layout';
import { printable, tableLine } from '../output';
import { EXIT_CODES, intOption, runtimeFor } from '../runtime';

/** `first`, then `rest` as it comes (100,000 rows are never held at once). */
function* withFirst(first: string, rest: Iterable<string>): Generator<string> {
  yield first;
  yield* rest;
}

const HEADER = ['SERIAL', 'NAME', 'PROFILE', 'STATUS', 'EXPIRES', 'SUBJECT'];
/**
 * What the table gives up at a narrow terminal, in order: the subject (for
 * pocketca's own certificates CN=NAME), then the serial down to 12 hex
 * digits (a prefix `show`, `revoke` and `renew` take), then long names.
 */
const FIT: FitStep[] = [
  { drop: 'SUBJECT' },
  { shorten: 'SERIAL', to: 13 },
  { shorten: 'NAME', to: 18 },
  { shorten: 'STATUS', to: 12 },
  { drop: 'PROFILE' },
];

export function registerList(program: Command): void {
  program
    .command('list')
    .description('list certificates (valid ones by default)')
    .option('--all', 'valid, revoked and expired')
    .option('--revoked', 'only revoked ones')
    .option('--expiring <days>', 'only valid ones that expire within DAYS', intOption('--expiring', 0, 36500))
    .option('--wide', 'every column in full, even wider than the terminal')
    .addHelpText(
      'after',
      `
At a terminal the table fits its width: the SUBJECT column goes first, then
serials are shortened to a prefix (ending in …) that show, revoke and renew
accept. --wide, --json and a pipe get every column in full.

Examples:
  pocketca list
  pocketca list --expiring 30
  pocketca list --all --json
${EXIT_CODES}`,
    )
    .action(async (opts, command: Command) => {
      const { ctx, out } = runtimeFor(command);
      const { listCells, listCerts, listCertsJson, listCertsTable } = await import('../../app/inspect');
      const params = { status: opts.all ? 'all' : opts.revoked ? 'revoked' : 'valid', expiringDays: opts.expiring } as const;
      if (out.json) {
        // The document out.result would print, written by SQLite row by row: 100,000 records as objects cost seconds (issue 6).
        out.jsonArray(listCertsJson(ctx, params));
        return;
      }
      const whole = Boolean(opts.wide) || out.width === undefined;
      const table = whole ? listCertsTable(ctx, params, HEADER) : undefined;
      if (table) {
        // Whole cells, written as SQLite lays out each row (issue 6).
        out.lines(table.rows === 0 ? ['no certificates'] : withFirst(tableLine(HEADER, table.widths), table.lines), { whole: true });
        return;
      }
      const rows = listCerts(ctx, params);
      const cells = rows.map((r) => listCells(r).map(printable));
      if (rows.length === 0) out.report(rows, () => 'no certificates');
      else out.lines(out.table({ header: HEADER, rows: cells, steps: FIT }, { whole }), { whole: true });
    });
}
