import type { Command } from 'commander';
import { EXIT_CODES, runtimeFor } from '../runtime';

export function registerRemind(program: Command): void {
  program
    .command('remind')
    .description('write calendar reminders (iCalendar) for every expiry: certificates, the CRL, the CA')
    .option('--out <file>', 'write the .ics to FILE (default: - for stdout)', '-')
    .option('--force', 'replace --out FILE even when it is not a reminders file of this CA')
    .addHelpText(
      'after',
      `
Writes an iCalendar file (RFC 5545) with one event at each moment something
stops working: every valid certificate's expiry (devices, servers,
intermediates), the CRL's next update (after it the proxies refuse every
client unless a new CRL is published) and the CA's own expiry. Each event has
alarms 30 and 7 days before (the CA's also 180) and says the command to run.
The UIDs are stable, so importing a newer file updates the events.

Put it on the phone with the same one-time link as a profile:
  pocketca remind --out reminders.ics && pocketca share reminders.ics
An iPhone offers to add the events to Calendar; on Android, a calendar app
that imports .ics files adds them. Run it again after renew, crl or revoke.
Read-only: needs no passphrase. With --json, stdout gets the events
({"events": [...]}, and "path" when written to a file) instead of the .ics.

Examples:
  pocketca remind --out reminders.ics
  pocketca remind > ~/Calendars/pocketca.ics
  pocketca remind --json
${EXIT_CODES}`,
    )
    .action(async (opts: { out: string; force?: boolean }, command: Command) => {
      const { ctx, out } = runtimeFor(command);
      const ca = ctx.home.caCertificate();
      const { remind, uidSuffix } = await import('../../app/remind');
      const { resolveOutput, writeOutput } = await import('../../host/output-target');
      const { calendarOf } = await import('../../host/output-kinds');
      const toStdout = opts.out === '-';
      // --json lists the events on stdout: the .ics goes there only without it.
      const target =
        toStdout && out.json
          ? undefined
          : resolveOutput(ctx.home.dir, opts.out, {
              flag: '--out',
              what: 'a reminders file of this CA (pocketca remind)',
              sameKind: calendarOf(uidSuffix(ca)),
              force: Boolean(opts.force),
              stdout: (d) => out.data(d),
            });
      const result = remind(ctx);
      if (result.crlSkipped) ctx.warn(`no reminder for the CRL: ${result.crlSkipped}`);
      if (target) {
        const { PUBLIC } = await import('../../host/files');
        writeOutput(target, result.ics, PUBLIC);
      }
      const path = target && target.kind !== 'stdout' ? target.path : undefined;
      if (out.json) {
        out.result({ events: result.reminders, ...(path ? { path } : {}) }, () => '');
        return;
      }
      if (!path) return;
      const certificates = result.reminders.filter((r) => r.kind === 'certificate').length;
      const what = [`${certificates} certificate${certificates === 1 ? '' : 's'}`, ...(result.crlSkipped ? [] : ['the CRL']), 'the CA'].join(', ');
      out.result({}, () => `wrote ${result.reminders.length} reminders (${what}) to ${path}`);
      const { shellPath } = await import('../device-steps');
      out.note(`next: pocketca share ${shellPath(path)}   (a phone adds them from the QR code)`);
    });
}
