/**
 * What every use case receives from the command line: the home, the clock,
 * the randomness source, and a way to ask for the CA passphrase only when the
 * key is needed. Tests fix `now` and `randomBytes`.
 */
import type { CaHome } from './home';

export interface AppContext {
  home: CaHome;
  now: () => Date;
  randomBytes: (n: number) => Buffer;
  /** The CA passphrase (file, environment or prompt); asked once, lazily. */
  passphrase: () => Promise<string>;
  /**
   * The passphrase was wrong: forget it and return true when `passphrase`
   * may ask again (a prompt with tries left); default never.
   */
  retryPassphrase?: () => boolean;
  /** A warning for the user (stderr). */
  warn: (message: string) => void;
}
