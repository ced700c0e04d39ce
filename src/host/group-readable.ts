/**
 * Making a private file readable by one service's group, and no one else:
 * for a daemon that reads its key after dropping root (Debian's mosquitto,
 * src/formats/proxy-mosquitto.ts).
 */
import { closeSync, constants as fs, fchmodSync, fchownSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { FilesystemError } from '../errors';
import { checkpoint } from './files';

/** The gid of a local group (/etc/group), or undefined when there is none. */
export function localGroupId(name: string, groupFile = '/etc/group'): number | undefined {
  let text: string;
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [group, , gid] = line.split(':');
    if (group === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

/**
 * Give `path`, written 0600, to the group `gid` for reading (0640). The group
 * changes first, so the file is never readable by a group it was not meant
 * for. False, with the file left 0600, when this user may not give it to
 * that group (not root, not a member).
 *
 * Through a descriptor of the file itself (O_NOFOLLOW, a regular file of
 * this user with one link), never by name: the directory may be writable by
 * someone else (Debian's /var/lib/mosquitto is mosquitto's), who could put a
 * symbolic or hard link to /etc/shadow there between the rename and the
 * chown; chown and chmod by name follow it, and root would hand that file to
 * the group. Such a swap is a FilesystemError and changes nothing.
 */
export function shareWithGroup(path: string, gid: number): boolean {
  checkpoint('share-with-group');
  const changed = (what: string) =>
    new FilesystemError(`${path} is no longer the key pocketca wrote (${what}): not given to group ${gid}`, 'check who else can write in that directory, then run the command again');
  let fd: number;
  try {
    fd = openSync(path, fs.O_RDONLY | fs.O_NOFOLLOW | fs.O_NONBLOCK | fs.O_NOCTTY);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw changed('now a symbolic link');
    throw error;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw changed('not a regular file');
    if (st.nlink !== 1) throw changed(`${st.nlink} hard links`);
    if (process.getuid && st.uid !== process.getuid()) throw changed(`owned by uid ${st.uid}`);
    try {
      fchownSync(fd, -1, gid);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EPERM') return false;
      throw error;
    }
    fchmodSync(fd, 0o640);
    return true;
  } finally {
    closeSync(fd);
  }
}
