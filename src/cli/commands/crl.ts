import type { Command } from 'commander';
import { resolve } from 'node:path';
import { EXIT_CODES, intOption, runtimeFor } from '../runtime';

export function registerCrl(program: Command): void {
  program
    .command('crl')
    .description('sign a new CRL now and write crl.pem')
    .option('--days <n>', "validity of this CRL in days (default: the home's --crl-days)", intOption('--days', 1, 3650))
    .option('--out <file>', 'also write a copy to FILE')
    .option('--der', 'write the --out copy as DER instead of PEM')
    .option('--passphrase-file <file>', 'read the CA passphrase from FILE (else $POCKETCA_PASSPHRASE, else a prompt)')
    .addHelpText('after', `\nExamples:\n  pocketca crl\n  pocketca crl --days 90 --out /tmp/ca.crl --der\n${EXIT_CODES}`)
    .action(async (opts, command: Command) => {
      const { ctx, out } = runtimeFor(command, opts);
      const { signCrl } = await import('../../app/sign-crl');
      const crl = await signCrl(ctx, { days: opts.days });
      let copy: string | undefined;
      if (opts.out) {
        const { writeFileAtomic, PUBLIC } = await import('../../app/files');
        const { toPem } = await import('../../formats/pem');
        copy = resolve(opts.out);
        writeFileAtomic(copy, opts.der ? crl.der : toPem('X509 CRL', crl.der), PUBLIC);
      }
      const json = { number: crl.number, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate, entries: crl.entries, path: crl.path, ...(copy ? { out: copy } : {}) };
      out.result(json, () => `signed CRL number ${crl.number} (${crl.entries} revoked), next update ${crl.nextUpdate}\n  ${crl.path}${copy ? `\n  ${copy}` : ''}`);
    });
}
