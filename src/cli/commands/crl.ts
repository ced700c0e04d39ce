import type { Command } from 'commander';
import { EXIT_CODES, intOption, runtimeFor } from '../runtime';

export function registerCrl(program: Command): void {
  program
    .command('crl')
    .description('sign a new CRL now and write crl.pem')
    .option('--days <n>', "validity of this CRL in days (default: the home's --crl-days)", intOption('--days', 1, 3650))
    .option('--out <file>', 'also write a copy to FILE')
    .option('--der', 'write the --out copy as DER instead of PEM')
    .option('--force', 'replace --out FILE even when it is not a CRL of this CA')
    .option('--passphrase-file <file>', 'read the CA passphrase from FILE (else $POCKETCA_PASSPHRASE, else a prompt)')
    .addHelpText('after', `\nExamples:\n  pocketca crl\n  pocketca crl --days 90 --out /tmp/ca.crl --der\n${EXIT_CODES}`)
    .action(async (opts, command: Command) => {
      const { ctx, out } = runtimeFor(command, opts);
      const { signCrl } = await import('../../app/sign-crl');
      const { resolveOutput, writeOutput } = await import('../../host/output-target');
      const { crlOf } = await import('../../host/output-kinds');
      // Checked before the CRL is signed: an output that cannot be written changes nothing.
      const target =
        opts.out === undefined
          ? undefined
          : resolveOutput(ctx.home.dir, opts.out, { flag: '--out', what: 'a CRL of this CA', sameKind: crlOf(ctx.home.caCertificate()), force: Boolean(opts.force), stdout: (d) => out.data(d) });
      const crl = await signCrl(ctx, { days: opts.days });
      let copy: string | undefined;
      if (target) {
        const { PUBLIC } = await import('../../host/files');
        writeOutput(target, opts.der ? Buffer.concat(crl.derParts) : crl.pem, PUBLIC);
        if (target.kind === 'stdout') return;
        copy = target.path;
      }
      const json = { number: crl.number, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate, entries: crl.entries, path: crl.path, ...(copy ? { out: copy } : {}) };
      out.result(json, () => `signed CRL number ${crl.number} (${crl.entries} revoked), next update ${crl.nextUpdate}\n  ${crl.path}${copy ? `\n  ${copy}` : ''}`);
    });
}
