/**
 * node-forge, loaded on first use. It takes ~50 ms to load, more than
 * anything else at start-up, and only some paths need it: reading PKCS#12
 * files and signing profiles (CMS). `issue` and `sign` run without it (issue 6).
 * Import its types with `import type Forge from 'node-forge'`.
 */
import type Forge from 'node-forge';

export function loadForge(): typeof Forge {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node-forge') as typeof Forge;
}
