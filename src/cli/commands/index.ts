import type { Command } from 'commander';
import type { HomeAccess } from '../../host/home';
import type { ProgramDeps } from '../runtime';

type Register = (program: Command, deps: ProgramDeps) => void;

/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * Every command, in the order `pocketca --help` lists them, each loaded only
 * when registered. Each file is thin: options -> one app call -> output.
 */
const COMMANDS = {
  init: (): Register => (require('./init') as typeof import('./init')).registerInit,
  issue: (): Register => (require('./issue') as typeof import('./issue')).registerIssue,
  sign: (): Register => (require('./sign') as typeof import('./sign')).registerSign,
  revoke: (): Register => (require('./revoke') as typeof import('./revoke')).registerRevoke,
  renew: (): Register => (require('./renew') as typeof import('./renew')).registerRenew,
  crl: (): Register => (require('./crl') as typeof import('./crl')).registerCrl,
  bundle: (): Register => (require('./bundle') as typeof import('./bundle')).registerBundle,
  list: (): Register => (require('./list') as typeof import('./list')).registerList,
  show: (): Register => (require('./show') as typeof import('./show')).registerShow,
  log: (): Register => (require('./log') as typeof import('./log')).registerLog,
  backup: (): Register => (require('./backup') as typeof import('./backup')).registerBackup,
  restore: (): Register => (require('./restore') as typeof import('./restore')).registerRestore,
  proxy: (): Register => (require('./proxy') as typeof import('./proxy')).registerProxy,
  doctor: (): Register => (require('./doctor') as typeof import('./doctor')).registerDoctor,
  remind: (): Register => (require('./remind') as typeof import('./remind')).registerRemind,
  qr: (): Register => (require('./qr') as typeof import('./qr')).registerQr,
  share: (): Register => (require('./share') as typeof import('./share')).registerShare,
  enroll: (): Register => (require('./enroll') as typeof import('./enroll')).registerEnroll,
  scep: (): Register => (require('./scep') as typeof import('./scep')).registerScep,
  completion: (): Register => (require('./completion') as typeof import('./completion')).registerCompletion,
} as const;
/* eslint-enable @typescript-eslint/no-require-imports */

export type CommandName = keyof typeof COMMANDS;
export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

/**
 * What each command does to the CA home (HomeAccess, src/host/home.ts): a
 * database whose schema is not pocketca's stops a command that changes the
 * home, and is a warning for one that only reads it. Every command is listed
 * (a new one does not compile until it is); recording an audit event, a
 * setting or bundle.pem is a change.
 */
export const HOME_ACCESS: Readonly<Record<CommandName, HomeAccess>> = {
  init: 'changes',
  issue: 'changes',
  sign: 'changes',
  revoke: 'changes',
  renew: 'changes',
  crl: 'changes',
  bundle: 'reads',
  list: 'reads',
  show: 'reads',
  log: 'reads',
  backup: 'changes',
  restore: 'replaces',
  proxy: 'changes',
  doctor: 'reads',
  remind: 'reads',
  qr: 'reads',
  share: 'reads',
  enroll: 'changes',
  scep: 'changes',
  completion: 'reads',
};

const isCommandName = (word: string | undefined): word is CommandName => word !== undefined && Object.hasOwn(COMMANDS, word);

/** The access of the command `name` (a top-level command's name); one not listed changes the home. */
export const homeAccessOf = (name: string): HomeAccess => (isCommandName(name) ? HOME_ACCESS[name] : 'changes');

/**
 * Register the command `word` names, or every command when it names none
 * (`--help`, `help`, a typo commander should suggest a fix for). A run of one
 * command then loads one command module, not seventeen (issue 6).
 */
export function registerCommands(program: Command, word: string | undefined, deps: ProgramDeps): void {
  for (const name of isCommandName(word) ? [word] : COMMAND_NAMES) COMMANDS[name]()(program, deps);
}
