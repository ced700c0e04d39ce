import type { Command } from 'commander';
import { USER_REASONS } from '../../formats/crl';
import { isInteractive } from '../secrets';
import { EXIT_CODES, recordRef, choice, runtimeFor } from '../runtime';

export function registerRevoke(program: Command): void {
  program
    .command('revoke')
    .description('revoke a certificate and re-sign the CRL')
    .argument('<serial|name>', 'a serial (hex, any case, colons or not; its first 8+ digits do) or a record name', recordRef)
    .option('--reason <reason>', USER_REASONS.join('|'), choice('--reason', USER_REASONS), 'unspecified')
    .option('--all', 'revoke every valid certificate the NAME matches')
    .option('--passphrase-file <file>', 'read the CA passphrase from FILE (else $POCKETCA_PASSPHRASE, else a prompt)')
    .addHelpText(
      'after',
      `
Reasons are recorded on the CRL as RFC 5280 reason codes: keyCompromise (a
lost device, a leaked key), cACompromise (the key of an intermediate leaked;
refused for any other certificate), affiliationChanged, superseded,
cessationOfOperation, privilegeWithdrawn (it may no longer get in), or none
(unspecified). A revocation is permanent. It is reported only once
crl.pem, read back, lists the certificate and the record holds it;
otherwise it is exit 1, with nothing revoked, and \`pocketca log\` says why.

After revoking, copy crl.pem to the proxy and reload it (nginx -s reload,
apachectl restart): neither re-reads a CRL by itself. Open WebSockets of the
device end with the reload: at once with Apache's restart, within nginx's
worker_shutdown_timeout (see the generated config).

Examples:
  pocketca revoke alice-iphone --reason keyCompromise
  pocketca revoke 4F:2A:...:9C
  pocketca revoke online-ca --reason cACompromise
${EXIT_CODES}`,
    )
    .action(async (ref: string, opts, command: Command) => {
      const { ctx, out, globals } = runtimeFor(command, opts);
      const { revoke } = await import('../../app/revoke');
      const result = await revoke(ctx, {
        ref,
        reason: opts.reason,
        all: Boolean(opts.all || globals.yes),
        confirmAll: isInteractive()
          ? async (rows) => {
              const { askConfirm } = await import('../prompt');
              out.tell(rows.map((r) => `  ${r.serial}  ${r.name}  expires ${r.notAfter.slice(0, 10)}`).join('\n'));
              return askConfirm(`Revoke all ${rows.length} certificates named ${ref}?`, false);
            }
          : undefined,
      });
      out.result(result, () =>
        [...result.revoked.map((r) => `revoked ${r.serial} (${r.name}), reason ${r.reason}`), `signed CRL number ${result.crlNumber}: ${result.crlPath}`].join('\n'),
      );
      out.note(
        `copy ${result.crlPath} to the proxy and reload it (nginx -s reload / apachectl restart), or re-run the \`pocketca proxy ... --out-dir DIR\` command that wrote the proxy's files (a revoked intermediate's --crl-file is then left out)`,
      );
      if (result.websocketKeyRotated) {
        out.warn(
          'an intermediate was revoked: WebSocket cookies of the devices under it stay valid at a proxy until its config changes; ' +
            'the token key is rotated: re-run `pocketca proxy ... --websocket-token --out-dir DIR` and publish the new config (every device then gets a new cookie)',
        );
      }
    });
}
