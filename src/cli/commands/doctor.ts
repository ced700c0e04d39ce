import { resolve } from 'node:path';
import type { Command } from 'commander';
import { EXIT_CODES, runtimeFor } from '../runtime';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the home: CRL expiry first, database, CA key and certificate, bundle, expiring certificates, file modes')
    .option('--passphrase-file <file>', 'also open the CA key to check it matches ca.pem (or set $POCKETCA_PASSPHRASE)')
    .option('--deployed-crl <file>', "also check a proxy's copy of crl.pem: this CA's, not expired, no revocation missing (repeatable)", (v: string, all: string[] = []) => [...all, v])
    .addHelpText(
      'after',
      `
Each check is ok, warn, fail or skip. It fails when the CRL has expired or
expires within 7 days (after that nginx, Apache and Mosquitto refuse every
client), when the database is damaged or newer than this pocketca, or its
schema is not what pocketca made (a trigger, view, table or index someone
added or changed: named, and in --json as "schemaDifferences"), when the
key or certificate is missing, expired or mismatched, or when the home, key
or database can be read by others. Certificates expiring within 30 days are
a warning. --deployed-crl FILE checks a copy of crl.pem on a proxy: it fails
when it lacks revocations of the latest CRL (the revoked device still gets in
there) or expires within 7 days. For monitoring, --json prints
{"home","ok","checks":[{"name","status","message",...}]}; the exit code is 1
when any check failed. At a terminal each message wraps under itself.

Examples:
  pocketca doctor
  pocketca doctor --json --passphrase-file ~/.pocketca-pass
  pocketca doctor --deployed-crl /etc/nginx/pocketca/crl.pem
${EXIT_CODES}`,
    )
    .action(async (opts, command: Command) => {
      const { ctx, out } = runtimeFor(command, opts);
      const { runDoctor } = await import('../../app/doctor');
      const report = await runDoctor(ctx, {
        verifyKey: Boolean(opts.passphraseFile || process.env.POCKETCA_PASSPHRASE),
        deployedCrls: (opts.deployedCrl as string[] | undefined)?.map((f) => resolve(f)),
      });
      // Status, check, message: the message wraps under itself at a terminal.
      out.report(report, () =>
        out
          .table({
            header: ['STATUS', 'CHECK', 'MESSAGE'],
            rows: report.checks.map((c) => [out.paint(c.status.padEnd(4), { ok: '32', warn: '33', fail: '31', skip: '2' }[c.status], process.stdout), c.name, c.message]),
            showHeader: false,
            wrapLast: 20,
          })
          .join('\n'),
      );
      // The laptop stays in a drawer between runs of doctor: the same dates, with alarms, on the phone.
      if (report.checks.some((c) => c.name === 'certificates')) {
        out.note("for these dates in a phone's calendar, with alarms before each expiry:\n  pocketca remind --out reminders.ics, then pocketca share reminders.ics");
      }
      const failed = report.checks.filter((c) => c.status === 'fail');
      if (failed.length) {
        const { CheckFailedError } = await import('../../errors');
        throw new CheckFailedError(`${failed.length} check${failed.length > 1 ? 's' : ''} failed: ${failed.map((c) => c.name).join(', ')}`);
      }
    });
}
