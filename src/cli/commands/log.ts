import type { Command } from 'commander';
import { printable } from '../output';
import { EXIT_CODES, runtimeFor } from '../runtime';

export function registerLog(program: Command): void {
  program
    .command('log')
    .description('the audit trail: every init, issue, sign, revoke, renew, crl, backup and restore, and refused attempts')
    .option('--since <date>', 'only events since DATE: YYYY-MM-DD (UTC), an ISO-8601 time, or Nd / Nh for the last N days / hours')
    .option('--wide', 'every column in full, even wider than the terminal')
    .addHelpText(
      'after',
      `
At a terminal the table fits its width: serials are shortened to a prefix
(ending in …), and dropped before DETAIL gets too narrow to read; DETAIL
wraps under itself. --wide, --json and a pipe get every column in full.

Examples:
  pocketca log
  pocketca log --since 7d
  pocketca log --since 2026-01-01 --json
${EXIT_CODES}`,
    )
    .action(async (opts, command: Command) => {
      const { ctx, out } = runtimeFor(command);
      const { readAuditLog } = await import('../../app/audit-log');
      const events = readAuditLog(ctx, { since: opts.since });
      if (events.length === 0) return out.report(events, () => 'no events');
      if (out.json) return out.report(events, () => '');
      const table = out.table(
        {
          header: ['TIME', 'COMMAND', 'OUTCOME', 'SERIAL', 'NAME', 'DETAIL'],
          rows: events.map((e) => [e.at.replace(/\.\d+Z$/, 'Z'), e.command, e.outcome, e.serial ?? '-', e.name ?? '-', e.detail ?? '-'].map(printable)),
          steps: [{ shorten: 'SERIAL', to: 13 }, { shorten: 'NAME', to: 16 }, { drop: 'SERIAL' }, { shorten: 'NAME', to: 12 }],
          wrapLast: 20,
        },
        { whole: Boolean(opts.wide) },
      );
      out.lines(table, { whole: true });
    });
}
