import type { Command } from 'commander';
import { refuseBinaryOnTerminal } from '../output';
import { EXIT_CODES, runtimeFor } from '../runtime';

export function registerBackup(program: Command): void {
  program
    .command('backup')
    .description('write one file (0600) holding the database, the encrypted CA key, the CA certificate and the CRL, signed by the CA key')
    .argument('<file>', 'the backup file to write')
    .option('--force', 'replace FILE even when it is not a backup of this CA')
    .option('--passphrase-file <file>', 'read the CA passphrase from FILE (else $POCKETCA_PASSPHRASE, else a prompt)')
    .addHelpText(
      'after',
      `
The database is copied with SQLite's online backup (consistent even while
another pocketca writes); the CA key goes in as it is on disk, encrypted. The
passphrase is asked because the manifest, which holds every member's SHA-256,
is signed with the CA key (restore refuses a backup changed afterwards), and
to check that the backup can be restored: the key must open and match the
certificate. Keep the backup away from the laptop (another stick, a safe);
without the passphrase it cannot sign.

Examples:
  pocketca backup /media/usb2/pocketca-$(date +%F).backup
  pocketca restore /media/usb2/pocketca-2026-05-01.backup --home ~/.pocketca
${EXIT_CODES}`,
    )
    .action(async (file: string, opts, command: Command) => {
      refuseBinaryOnTerminal(file, 'FILE', 'a pocketca backup');
      const { ctx, out } = runtimeFor(command, opts);
      const { backupHome } = await import('../../app/backup');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const writer = (require('../../../../package.json') as { version: string }).version;
      const result = await backupHome(ctx, { path: file, force: Boolean(opts.force), writer, stdout: (d) => out.data(d) });
      if (result.path === '-') return;
      out.result(result, () =>
        [
          `wrote a backup of ${ctx.home.dir} to ${result.path} (${result.bytes} bytes)`,
          `  certificates ${result.certificates} (${result.revocations} revoked)`,
          `  CRL number   ${result.crlNumber}`,
          `  CA SHA-256   ${result.caFingerprintSha256}`,
        ].join('\n'),
      );
    });
}
