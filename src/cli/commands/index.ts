import type { Command } from 'commander';
import { registerInit } from './init';
import { registerIssue } from './issue';
import { registerSign } from './sign';
import { registerRevoke } from './revoke';
import { registerCrl } from './crl';
import { registerBundle } from './bundle';
import { registerList } from './list';
import { registerShow } from './show';
import { registerProxy } from './proxy';
import { registerDoctor } from './doctor';

/** Every command, in the order `pocketca --help` lists them. Each file is thin: options -> one app call -> output. */
export const COMMANDS: ((program: Command) => void)[] = [
  registerInit,
  registerIssue,
  registerSign,
  registerRevoke,
  registerCrl,
  registerBundle,
  registerList,
  registerShow,
  registerProxy,
  registerDoctor,
];
