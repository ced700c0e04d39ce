import type { Command } from 'commander';
import { formatTable } from '../output';
import { EXIT_CODES, runtimeFor } from '../runtime';

export function registerLog(program: Command): void {
  program
    .command('log')
    .description('the audit trail: every init, issue, sign, revoke, renew, crl, backup and restore, and refused attempts')
    .option('--since <date>', 'only events since DATE: YYYY-MM-DD (UTC), an ISO-8601 time, or Nd / Nh for the last N days / hours')
    .addHelpText('after', `\nExamples:\n  pocketca log\n  pocketca log --since 7d\n  pocketca log --since 2026-01-01 --json\n${EXIT_CODES}`)
    .action(async (opts, command: Command) => {
      const { ctx, out } = runtimeFor(command);
      const { readAuditLog } = await import('../../app/audit-log');
      const events = readAuditLog(ctx, { since: opts.since });
      out.report(events, () =>
        events.length === 0
          ? 'no events'
          : formatTable(
              ['TIME', 'COMMAND', 'OUTCOME', 'SERIAL', 'NAME', 'DETAIL'],
              events.map((e) => [e.at.replace(/\.\d+Z$/, 'Z'), e.command, e.outcome, e.serial ?? '-', e.name ?? '-', e.detail ?? '-']),
            ),
      );
    });
}
