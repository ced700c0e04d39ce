/**
 * Making a private file readable by one service's group, and no one else:
 * for a daemon that reads its key after dropping root (Debian's mosquitto,
 * src/formats/proxy-mosquitto.ts).
 */
import { chmodSync, chownSync, readFileSync } from 'node:fs';

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
 */
export function shareWithGroup(path: string, gid: number): boolean {
  try {
    chownSync(path, -1, gid);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPERM') return false;
    throw error;
  }
  chmodSync(path, 0o640);
  return true;
}
