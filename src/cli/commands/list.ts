import type { Command } from 'commander';
import { formatTable, tableLine } from '../output';
import { EXIT_CODES, intOption, runtimeFor } from '../runtime';

/** `first`, then `rest` as it comes (100,000 rows are never held at once). */
function* withFirst(first: string, rest: Iterable<string>): Generator<string> {
  yield first;
  yield* rest;
}

export function registerList(program: Command): void {
  program
    .command('list')
    .description('list certificates (valid ones by default)')
    .option('--all', 'valid, revoked and expired')
    .option('--revoked', 'only revoked ones')
    .option('--expiring <days>', 'only valid ones that expire within DAYS', intOption('--expiring', 0, 36500))
    .addHelpText('after', `\nExamples:\n  pocketca list\n  pocketca list --expiring 30\n  pocketca list --all --json\n${EXIT_CODES}`)
    .action(async (opts, command: Command) => {
      const { ctx, out } = runtimeFor(command);
      const { listCells, listCerts, listCertsJson, listCertsTable } = await import('../../app/inspect');
      const params = { status: opts.all ? 'all' : opts.revoked ? 'revoked' : 'valid', expiringDays: opts.expiring } as const;
      if (out.json) {
        // The document out.result would print, written by SQLite row by row: 100,000 records as objects cost seconds (issue 6).
        out.jsonArray(listCertsJson(ctx, params));
        return;
      }
      const header = ['SERIAL', 'NAME', 'PROFILE', 'STATUS', 'EXPIRES', 'SUBJECT'];
      const table = listCertsTable(ctx, params, header);
      if (table) {
        // The text formatTable makes, written as SQLite lays out each row (issue 6).
        out.lines(table.rows === 0 ? ['no certificates'] : withFirst(tableLine(header, table.widths), table.lines));
        return;
      }
      const rows = listCerts(ctx, params);
      out.report(rows, () =>
        rows.length === 0
          ? 'no certificates'
          : formatTable(header, rows.map(listCells)),
      );
    });
}
