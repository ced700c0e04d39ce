import { InvalidNameError } from '../errors';

/**
 * SPEC `issue NAME`: letters, digits, `.`, `_`, `-`; 1–64 characters; starts
 * with a letter or digit. The name becomes file names (NAME.p12), so this is
 * the one gate between user input and a path: no separators, no `..` start,
 * no control characters, no unicode look-alikes.
 */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function validateName(name: string): string {
  if (!NAME_PATTERN.test(name)) {
    const shown = JSON.stringify(name.length > 80 ? name.slice(0, 80) + '…' : name);
    throw new InvalidNameError(
      `invalid name ${shown}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return name;
}

/** Turn a CSR's CN into a valid NAME (`sign` without `--name`). */
export function sanitizeName(cn: string): string {
  const cleaned = cn
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64)
    .replace(/[-.]+$/, '');
  return cleaned;
}
