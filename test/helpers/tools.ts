/**
 * External tools that tests use as independent implementations. A missing
 * tool skips the test on a developer machine, with the package to install,
 * but fails it in CI, where a silent skip would hide an unchecked artefact.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

/** Debian/Ubuntu packages that provide each command. */
const PACKAGES: Record<string, string> = {
  openssl: 'openssl',
  mkfifo: 'coreutils',
  certtool: 'gnutls-bin',
  pk12util: 'libnss3-tools',
  certutil: 'libnss3-tools',
  keytool: 'openjdk-17-jre-headless',
  curl: 'curl',
  nginx: 'nginx',
  apache2: 'apache2',
  mosquitto: 'mosquitto',
  mosquitto_pub: 'mosquitto-clients',
  mosquitto_sub: 'mosquitto-clients',
  zbarimg: 'zbar-tools',
  script: 'util-linux',
  unshare: 'util-linux',
  npm: 'npm',
  runuser: 'util-linux',
  useradd: 'passwd',
  tmux: 'tmux',
  zsh: 'zsh',
  fish: 'fish',
  man: 'man-db',
  scepclient: 'scep',
  certmonger: 'certmonger',
  getcert: 'certmonger',
  'dbus-run-session': 'dbus-daemon',
  cfssl: 'golang-cfssl',
  go: 'golang-go',
  pki: 'strongswan-pki',
  'mkfs.vfat': 'dosfstools',
  fusefat: 'fusefat',
  fusermount: 'fuse',
  chromium: 'chromium',
  sqlite3: 'sqlite3',
  python3: 'python3',
  // Python modules, imported by Debian's /usr/bin/python3 (requirePythonModule).
  icalendar: 'python3-icalendar',
};

export function isOnPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * True when `command` is on PATH. Otherwise skips the test and returns false
 * (the caller returns), or throws when CI=true.
 */
export function requireTool(t: TestContext, command: string): boolean {
  if (isOnPath(command)) return true;
  const reason = `${command} not installed: apt-get install ${PACKAGES[command] ?? command}`;
  if (process.env.CI === 'true') throw new Error(`${reason} (CI must run every independent check)`);
  t.skip(reason);
  return false;
}

/** Like requireTool, for a file a package installs (a server module). */
export function requireFile(t: TestContext, path: string, debianPackage: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    const reason = `${path} not installed: apt-get install ${debianPackage}`;
    if (process.env.CI === 'true') throw new Error(`${reason} (CI must run every independent check)`);
    t.skip(reason);
    return false;
  }
}

/** Debian's own Python: another python3 (pyenv, a venv) may come first on PATH without Debian's modules. */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/** Like requireTool, for a module /usr/bin/python3 imports (from a Debian package in PACKAGES). */
export function requirePythonModule(t: TestContext, module: string): boolean {
  const found = spawnSync(DEBIAN_PYTHON, ['-c', `import ${module}`], { timeout: 30_000 }).status === 0;
  if (found) return true;
  const reason = `python module ${module} not installed for ${DEBIAN_PYTHON}: apt-get install ${PACKAGES[module] ?? `python3-${module}`}`;
  if (process.env.CI === 'true') throw new Error(`${reason} (CI must run every independent check)`);
  t.skip(reason);
  return false;
}
