import type { Command } from 'commander';
import { CertificateNotFoundError } from '../../errors';
import { fields } from '../layout';
import { printable } from '../output';
import { EXIT_CODES, recordRef, runtimeFor } from '../runtime';

export function registerShow(program: Command): void {
  program
    .command('show')
    .description('details of one certificate (the newest, for a name)')
    .argument('<serial|name>', 'a serial (or its first 8+ hex digits) or a record name', recordRef)
    .option('--pem', 'print the certificate PEM')
    .addHelpText('after', `\nExamples:\n  pocketca show alice-iphone\n  pocketca show 4d:28:1a:71\n  pocketca show alice-iphone --pem | openssl x509 -noout -text\n${EXIT_CODES}`)
    .action(async (ref: string, opts, command: Command) => {
      const { ctx, out } = runtimeFor(command);
      const { showCert } = await import('../../app/inspect');
      const shown = showCert(ctx, ref);
      if ('note' in shown) {
        // A revoked serial with no certificate record: there is no PEM to print.
        if (opts.pem && !out.json) throw new CertificateNotFoundError(`serial ${shown.serial} is revoked but no certificate of it is recorded here: there is no PEM to show`, `pocketca show ${shown.serial} shows the revocation`);
        out.report(shown, () =>
          fields(
            [
              ['serial', shown.serial],
              ['status', `revoked at ${shown.revokedAt} (${shown.reason})`],
              ['record', shown.note],
            ].map(([k, v]) => [k!, printable(v!)] as const),
          ).join('\n'),
        );
        return;
      }
      const cert = shown;
      if (opts.pem && !out.json) return out.data(cert.pem);
      const { pem: _pem, ...withoutPem } = cert;
      out.report(opts.pem ? cert : withoutPem, () =>
        fields([
          ['serial', cert.serial],
          ['name', cert.name],
          ['profile', cert.profile],
          ['status', cert.status + (cert.revokedAt ? ` at ${cert.revokedAt} (${cert.reason})` : '')],
          ['subject', cert.subject],
          ['issuer', cert.issuer],
          ['SANs', cert.subjectAltName ?? '-'],
          ...(cert.pathLen !== undefined ? [['CA', `pathLen ${cert.pathLen}`]] : []),
          ...(cert.nameConstraints ? [['names', cert.nameConstraints]] : []),
          ['not before', cert.notBefore],
          ['not after', cert.notAfter],
          ['issued', `${cert.issuedAt} by ${cert.source}`],
          ['SHA-256', cert.fingerprintSha256],
        ].map(([k, v]) => [k!, printable(v!)] as const)).join('\n'),
      );
    });
}
