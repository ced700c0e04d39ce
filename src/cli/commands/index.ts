import type { Command } from 'commander';
import { registerInit } from './init';
import { registerIssue } from './issue';
import { registerSign } from './sign';
import { registerRevoke } from './revoke';
import { registerCrl } from './crl';
import { registerBundle } from './bundle';
import { registerList } from './list';
import { registerShow } from './show';
import { registerRenew } from './renew';
import { registerLog } from './log';
import { registerBackup } from './backup';
import { registerRestore } from './restore';
import { registerProxy } from './proxy';
import { registerDoctor } from './doctor';
import { registerQr } from './qr';
import { registerShare } from './share';
import { registerEnroll } from './enroll';

/** Every command, in the order `pocketca --help` lists them. Each file is thin: options -> one app call -> output. */
export const COMMANDS: ((program: Command) => void)[] = [
  registerInit,
  registerIssue,
  registerSign,
  registerRevoke,
  registerRenew,
  registerCrl,
  registerBundle,
  registerList,
  registerShow,
  registerLog,
  registerBackup,
  registerRestore,
  registerProxy,
  registerDoctor,
  registerQr,
  registerShare,
  registerEnroll,
];
