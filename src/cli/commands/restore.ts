import type { Command } from 'commander';
import { resolve } from 'node:path';
import { BACKUP_INPUT, readInput } from '../input';
import { EXIT_CODES, runtimeFor } from '../runtime';

export function registerRestore(program: Command): void {
  program
    .command('restore')
    .description('make a CA home (--home) from a backup file, after checking it completely')
    .argument('<file>', 'a file written by `pocketca backup`')
    .option('--force', 'replace the CA already in --home (its records are lost)')
    .option('--passphrase-file <file>', "read the backup's CA passphrase from FILE (else $POCKETCA_PASSPHRASE, else a prompt)")
    .addHelpText(
      'after',
      `
Checks every member's SHA-256, that the key opens with the passphrase and
matches the CA certificate, and that the database passes its integrity check
and belongs to that CA, before it writes anything. The files get their modes
(pocketca.db and ca.key.pem 0600) and the home 0700.

Examples:
  pocketca restore /media/usb2/pocketca-2026-05-01.backup --home ~/.pocketca
  pocketca restore old.backup --home /tmp/check --json
${EXIT_CODES}`,
    )
    .action(async (file: string, opts, command: Command) => {
      const { ctx, out } = runtimeFor(command, opts);
      const backup = await readInput(file, BACKUP_INPUT);
      const { restoreHome } = await import('../../app/restore');
      const result = await restoreHome(ctx, { backup, source: file === '-' ? 'stdin' : resolve(file), force: Boolean(opts.force) });
      out.result(result, () =>
        [
          `restored "${result.caSubject}" into ${result.home}`,
          `  backup made  ${result.backupCreatedAt}`,
          `  certificates ${result.certificates} (${result.revocations} revoked)`,
          `  CRL number   ${result.crlNumber}`,
          `  CA SHA-256   ${result.caFingerprintSha256}`,
        ].join('\n'),
      );
      out.note(`next: pocketca list --all --home ${result.home}`);
    });
}
