import type { Command } from 'commander';
import { resolve } from 'node:path';
import { BACKUP_INPUT, readInput } from '../input';
import { printable } from '../output';
import { EXIT_CODES, runtimeFor } from '../runtime';

export function registerRestore(program: Command): void {
  program
    .command('restore')
    .description('make a CA home (--home) from a backup file, after checking it completely')
    .argument('<file>', 'a file written by `pocketca backup`')
    .option('--force', 'replace the CA already in --home (its records are lost)')
    .option('--passphrase-file <file>', "read the backup's CA passphrase from FILE (else $POCKETCA_PASSPHRASE, else a prompt)")
    .option('--allow-unsigned', 'accept a backup written by the first release (not signed); every other check still runs')
    .addHelpText(
      'after',
      `
Checks every member's SHA-256 and the manifest's signature with the CA
certificate inside the backup, then prints that CA's subject and SHA-256
fingerprint: compare it with the one you know (it is the only thing that tells
a backup of another CA apart). Then checks that the key opens with the
passphrase and matches the certificate, and that the database has exactly the
schema pocketca creates (no extra trigger, view or index), passes its integrity
check and belongs to that CA, before it writes anything. The files get their
modes (pocketca.db and ca.key.pem 0600) and the home 0700. A backup written by
the first release is not signed: refused unless --allow-unsigned.

Examples:
  pocketca restore /media/usb2/pocketca-2026-05-01.backup --home ~/.pocketca
  pocketca restore old.backup --home /tmp/check --json
${EXIT_CODES}`,
    )
    .action(async (file: string, opts, command: Command) => {
      const { ctx, out } = runtimeFor(command, opts);
      const backup = await readInput(file, BACKUP_INPUT);
      const { restoreHome } = await import('../../app/restore');
      const result = await restoreHome(ctx, {
        backup,
        source: file === '-' ? 'stdin' : resolve(file),
        force: Boolean(opts.force),
        allowUnsigned: Boolean(opts.allowUnsigned),
        // On stderr even with --json or -q: this is the check a person makes before the home is replaced.
        announce: (ca) =>
          out.tell(
            `${ca.signed ? 'backup signed by' : 'unsigned backup of'} the CA "${printable(ca.subject)}"\n` +
              `  SHA-256 ${ca.fingerprintSha256}\n` +
              'compare it with the one you know (`init` printed it; for any copy of the CA certificate: openssl x509 -noout -fingerprint -sha256 -in ca.pem)',
          ),
      });
      out.result(result, () =>
        [
          `restored "${printable(result.caSubject)}" into ${result.home}`,
          `  backup made  ${result.backupCreatedAt}`,
          `  certificates ${result.certificates} (${result.revocations} revoked)`,
          `  CRL number   ${result.crlNumber}`,
          `  CA SHA-256   ${result.caFingerprintSha256}`,
        ].join('\n'),
      );
      out.note(`next: pocketca list --all --home ${result.home}`);
    });
}
