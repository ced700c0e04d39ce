import type { Command } from 'commander';
import { UsageError } from '../../errors';
import { CSR_INPUT, readInput } from '../input';
import { EXIT_CODES, choice, collect, intOption, runtimeFor } from '../runtime';

export function registerSign(program: Command): void {
  program
    .command('sign')
    .description('sign a CSR a device made itself (its key never leaves it)')
    .argument('<csr>', 'the CSR file, PEM or DER, or - for stdin')
    .option('--profile <kind>', 'client, server, or intermediate (a CA for an online issuing tier)', choice('--profile', ['client', 'server', 'intermediate']), 'client')
    .option('--path-len <n>', "--profile intermediate: the CA's pathLenConstraint (default 0: it signs end entities only)", intOption('--path-len', 0, 8))
    .option('--cn <cn>', "the certificate's CN (default: the CSR's single CN); the subject is exactly CN=<cn>")
    .option('--name <name>', 'record name (default: the CN, sanitised)')
    .option('--days <n>', "validity in days (default 365 client, 398 server, 1825 intermediate but never past the root's expiry)", intOption('--days', 1, 36500))
    .option('--email <addr>', 'rfc822Name SAN (repeatable)', collect, [])
    .option('--dns <name>', 'DNS SAN (repeatable)', collect, [])
    .option('--ip <addr>', 'IP address SAN (repeatable)', collect, [])
    .option('--out <file>', 'write the certificate PEM to FILE (default: stdout)')
    .option('--force', 'replace --out FILE even when it is not a certificate of this CA')
    .option('--passphrase-file <file>', 'read the CA passphrase from FILE (else $POCKETCA_PASSPHRASE, else a prompt)')
    .addHelpText(
      'after',
      `
The CSR's signature must verify. Nothing of it is copied: the subject is
exactly CN=<cn> (--cn, else the CSR's one CN; O, OU and the rest are dropped),
the key (RSA 2048-8192, ECDSA P-256/P-384 or Ed25519) is re-encoded, and the
certificate is CA:FALSE with the profile's key usages; SANs come from the CSR
only with --profile server, else from --dns/--ip/--email.

--profile intermediate signs a subordinate CA for step-ca, Vault/OpenBao,
cfssl or \`openssl ca\`: CA:TRUE with pathLen 0 (--path-len), keyCertSign and
cRLSign, the root's name constraints copied in, no SANs. It is recorded,
listed and revocable like any certificate, and bundle.pem then holds it after
the root.

Examples:
  openssl req -new -newkey rsa:2048 -nodes -keyout dev.key \\
      -subj /CN=sensor-1 -out dev.csr
  pocketca sign dev.csr --out sensor-1.pem
  pocketca sign web.csr --profile server --json
  pocketca sign issuing-ca.csr --profile intermediate --out issuing-ca.pem
${EXIT_CODES}`,
    )
    .action(async (csrPath: string, opts, command: Command) => {
      const { ctx, out } = runtimeFor(command, opts);
      if (opts.pathLen !== undefined && opts.profile !== 'intermediate') throw new UsageError('--path-len applies to --profile intermediate only');
      const { resolveOutput, writeOutput } = await import('../../host/output-target');
      const { certificateOf } = await import('../../host/output-kinds');
      // Checked before anything is signed or recorded.
      const target =
        opts.out === undefined || opts.out === '-'
          ? undefined
          : resolveOutput(ctx.home.dir, opts.out, { flag: '--out', what: 'a certificate of this CA', sameKind: certificateOf(ctx.home.caCertificate()), force: Boolean(opts.force) });
      const csr = await readInput(csrPath, CSR_INPUT);
      const { signCsr } = await import('../../app/sign-csr');
      const result = await signCsr(ctx, { csr, profile: opts.profile, cn: opts.cn, name: opts.name, days: opts.days, email: opts.email, dns: opts.dns, ip: opts.ip, pathLen: opts.pathLen });
      for (const what of result.ignored) ctx.warn(`the CSR asked for ${what}; ignored`);
      if (target) {
        const { PUBLIC } = await import('../../host/files');
        writeOutput(target, result.pem, PUBLIC);
      }
      const { ignored: _ignored, ...json } = result;
      if (out.json) out.result(json, () => '');
      else if (target) out.result(json, () => `signed ${result.profile} certificate ${result.serial} for ${result.name} (${result.subject}) -> ${target.path}`);
      else {
        out.note(`signed ${result.profile} certificate ${result.serial} for ${result.name} (${result.subject})`);
        out.data(result.pem);
      }
    });
}
