/**
 * Ctrl-C while a command works or waits (`share`, `enroll`, `scep`). Node's
 * default for SIGINT ends the process at once and silently: the user does
 * not learn that a certificate was already issued and recorded, nor how to
 * go on (SPEC "Everyday use, second pass"). While a watch is armed, SIGINT
 * stops the wait instead (`whenInterrupted`: the server closes), and the
 * command then throws an InterruptedError saying what was done and what
 * continues (exit 130, as a shell reports SIGINT). A watch is armed before
 * the work it covers starts (a Ctrl-C that comes before the server is up
 * closes it as soon as it is), and lets go of SIGINT as it fires: a second
 * Ctrl-C ends the process the default way.
 */
export interface InterruptWatch {
  /** Whether Ctrl-C came while the watch was armed. */
  readonly interrupted: boolean;
  /** What stops the wait: run on Ctrl-C, or now if it already came. */
  whenInterrupted(stop: () => void): void;
  /** Let go of SIGINT (Node's default again). */
  dispose(): void;
}

export function watchInterrupt(): InterruptWatch {
  let interrupted = false;
  const stops: (() => void)[] = [];
  const onSigint = () => {
    interrupted = true;
    process.off('SIGINT', onSigint);
    // The terminal echoed ^C where the cursor was: what follows starts on a line of its own.
    if (process.stderr.isTTY) process.stderr.write('\n');
    for (const stop of stops.splice(0)) stop();
  };
  process.on('SIGINT', onSigint);
  return {
    get interrupted() {
      return interrupted;
    },
    whenInterrupted(stop) {
      if (interrupted) stop();
      else stops.push(stop);
    },
    dispose: () => process.off('SIGINT', onSigint),
  };
}
