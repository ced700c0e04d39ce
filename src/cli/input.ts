/**
 * Input files named on the command line: a path, or `-` for stdin. Both are
 * bounded (SPEC: refuse megabytes with exit 2 before parsing); stdin is
 * counted as it arrives, a file is measured before it is read.
 */
import { InputTooLargeError, UnreadableInputError } from '../errors';
import { readFileBounded, type BoundedRead } from '../host/files';
import { MAX_BACKUP_BYTES, MAX_CSR_BYTES } from '../host/limits';

/** How `sign` and `renew --csr` read a CSR. */
export const CSR_INPUT: BoundedRead = { max: MAX_CSR_BYTES, what: 'CSR', expected: 'a CSR is a few kilobytes' };
/** How `restore` reads a backup. */
export const BACKUP_INPUT: BoundedRead = { max: MAX_BACKUP_BYTES, what: 'backup', expected: 'a pocketca backup is the size of its database' };

export async function readInput(path: string, limit: BoundedRead): Promise<Buffer> {
  if (path !== '-') return readFileBounded(path, limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > limit.max) throw new InputTooLargeError(`${limit.what} on stdin is larger than ${limit.max} bytes; ${limit.expected}`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) throw new UnreadableInputError(`no ${limit.what} on stdin`, `pipe one in, e.g. pocketca sign - < device.csr`);
  return Buffer.concat(chunks);
}
