import type { Command } from 'commander';
import { resolve } from 'node:path';
import { BACKUP_INPUT, readInput } from '../input';
import { printable } from '../output';
import { EXIT_CODES, collect, runtimeFor } from '../runtime';

/** At most this many kept revocations are listed one per line; --json has them all. */
const KEPT_SHOWN = 20;

/** The report's lines about what was kept: a count, then one line per revocation (the first KEPT_SHOWN). */
function keptLines(kept: { serial: string; name: string | null; reason: string; revokedAt: string; from: string }[]): string[] {
  if (kept.length === 0) return [];
  const lines = kept.slice(0, KEPT_SHOWN).map((k) => `    ${k.serial}  ${printable(k.name ?? '(no record)')}  ${k.reason}  ${k.revokedAt}  from ${printable(k.from)}`);
  if (kept.length > KEPT_SHOWN) lines.push(`    ... and ${kept.length - KEPT_SHOWN} more (--json lists them all)`);
  return [`  kept         ${kept.length} revocation${kept.length === 1 ? '' : 's'} the backup did not have:`, ...lines];
}

export function registerRestore(program: Command): void {
  program
    .command('restore')
    .description('make a CA home (--home) from a backup file, after checking it completely')
    .argument('<file>', 'a file written by `pocketca backup`')
    .option('--force', 'replace the CA already in --home (of the same CA, the revocations only it knows are kept)')
    .option('--deployed-crl <file>', "a CRL this CA signed, e.g. the proxy's copy of crl.pem (PEM or DER): its revocations are kept, also of serials the backup never knew (repeatable)", collect)
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
the first release is not signed: refused unless --allow-unsigned, which
accepts only what the first release wrote (database schema 2 or lower).

A backup never rolls a revocation back. Over a home of the same CA (--force),
every revocation the home knows and the backup does not is kept, with its
reason and date, and CRL numbers continue above the highest either used.
--deployed-crl FILE does the same for a CRL of this CA that a proxy holds,
which may list devices revoked after the backup (even ones issued after it):
after a lost laptop, give the proxy's copy of crl.pem. When anything is kept,
a new CRL listing everything is signed at once: copy crl.pem to the proxies.
Over a home of another CA (--force) nothing of it is kept.

Examples:
  pocketca restore /media/usb2/pocketca-2026-05-01.backup --home ~/.pocketca
  pocketca restore old.backup --home ~/.pocketca --deployed-crl /mnt/proxy/etc/pocketca/crl.pem
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
        deployedCrls: (opts.deployedCrl as string[] | undefined)?.map((f) => resolve(f)),
        // On stderr even with --json or -q: this is the check a person makes before the home is replaced.
        announce: (ca) =>
          out.tell(
            `${ca.signed ? 'backup signed by' : 'unsigned backup of'} the CA "${printable(ca.subject)}"\n` +
              `  SHA-256 ${ca.fingerprintSha256}\n` +
              'compare it with the one you know (`init` printed it; for any copy of the CA certificate: openssl x509 -noout -fingerprint -sha256 -in ca.pem)',
          ),
      });
      for (const d of result.deployedCrls) {
        if (d.othersLeftOut > 0) out.note(`${d.path}: ${d.othersLeftOut} CRL${d.othersLeftOut === 1 ? '' : 's'} not signed by this CA (an intermediate's, from \`proxy --crl-file\`) left out`);
      }
      out.result(result, () =>
        [
          `restored "${printable(result.caSubject)}" into ${result.home}`,
          `  backup made  ${result.backupCreatedAt}`,
          `  certificates ${result.certificates} (${result.revocations} revoked)`,
          `  CRL number   ${result.crlNumber}${result.crlSigned ? ' (signed now, listing every revocation)' : ''}`,
          `  CA SHA-256   ${result.caFingerprintSha256}`,
          ...keptLines(result.kept),
        ].join('\n'),
      );
      if (result.crlSigned) out.note(`next: copy ${result.home}/crl.pem to the proxies and reload them; then pocketca list --revoked --home ${result.home}`);
      else out.note(`next: pocketca list --all --home ${result.home}`);
    });
}
