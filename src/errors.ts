/**
 * Error classes named after the condition. The domain throws them with the
 * cause; commands may attach a hint; src/cli/main.ts is the only place that
 * turns them into `error:`/`hint:` lines and an exit code.
 *
 * Exit codes (SPEC "Exit codes and errors"): 1 the operation failed,
 * 2 bad usage or bad input, 70 an internal bug, 130 stopped by Ctrl-C.
 */
export class PocketcaError extends Error {
  /** Process exit code for this condition. */
  readonly exitCode: 1 | 2 | 130 = 1;
  /** One line telling the user what to do next, or undefined. */
  hint: string | undefined;

  constructor(message: string, hint?: string) {
    super(message);
    this.name = new.target.name;
    this.hint = hint;
  }

  withHint(hint: string): this {
    this.hint = hint;
    return this;
  }
}

/** Bad usage or bad input: exit 2. */
export class UsageError extends PocketcaError {
  override readonly exitCode = 2 as const;
}

export class InvalidNameError extends UsageError {}
export class InvalidCsrError extends UsageError {}
export class CsrSignatureError extends UsageError {
  constructor() {
    super('CSR signature does not verify', 'the CSR was altered or is not signed by its own key; make a new one on the device');
  }
}
/** A public key pocketca does not certify (weak RSA, another curve, DSA...) or cannot re-encode: exit 2. */
export class KeyNotAcceptedError extends UsageError {}
/** A subject (CN) pocketca will not put in a certificate: none, several, control characters, too long (exit 2). */
export class InvalidSubjectError extends UsageError {}
export class UnreadableInputError extends UsageError {}
export class InputTooLargeError extends UsageError {}
export class MissingSecretError extends UsageError {}

export class CaAlreadyExistsError extends PocketcaError {}
export class CaNotFoundError extends PocketcaError {}
export class WrongPassphraseError extends PocketcaError {
  constructor() {
    super('wrong CA passphrase');
  }
}
/**
 * A PKCS#12's MAC did not verify or a bag did not decrypt: a wrong password,
 * or a damaged file (RFC 7292 cannot tell the two apart).
 */
export class WrongPkcs12PasswordError extends PocketcaError {
  constructor() {
    super('wrong PKCS#12 password');
  }
}
/**
 * An encrypted key whose key-derivation parameters (scrypt N, r, p; PBKDF2
 * iterations) are beyond what pocketca accepts (SPEC "Hostile key files"):
 * refused before any derivation starts, so a planted file cannot keep the
 * CPU busy for hours (exit 1).
 */
export class KeyDerivationTooCostlyError extends PocketcaError {}
export class CertificateNotFoundError extends PocketcaError {}
/** The root's pathLenConstraint forbids the intermediate asked for (exit 1: the input is fine, the root is not). */
export class RootPathLengthError extends PocketcaError {}
export class CertificateAlreadyRevokedError extends PocketcaError {}
export class AmbiguousNameError extends UsageError {}
/** A serial prefix that several certificates share (exit 2): the message lists them. */
export class AmbiguousSerialError extends UsageError {}
export class DatabaseError extends PocketcaError {}
export class DatabaseTooNewError extends PocketcaError {}
/**
 * The database's schema is not what pocketca's migrations make at its version
 * (a planted trigger, a view in a table's place, a changed index): a command
 * that changes the home refuses before it changes anything (exit 1).
 */
export class UnexpectedSchemaError extends PocketcaError {}
/**
 * A revocation was recorded but cannot be shown to have taken effect: its row
 * is not in the database afterwards, or the CRL signed for it does not list it
 * (exit 1). Nothing is reported as revoked; the home's log says what happened.
 */
export class RevocationNotEffectiveError extends PocketcaError {}
/**
 * A CRL about to be published would not list what the record says is
 * revoked: fewer entries than the last CRL, a revoked serial missing, or
 * crl.pem on disk is not the CRL just signed (exit 1).
 */
export class CrlIncompleteError extends PocketcaError {}
export class OutputExistsError extends PocketcaError {}
/**
 * A file appeared at an output name (or the file there was replaced) after
 * the output rule checked it and before pocketca wrote it: another program
 * or another pocketca run wrote there meanwhile. It is left alone (exit 1).
 */
export class OutputAppearedError extends OutputExistsError {}
/** An output path names something the user cannot mean: inside the CA home, a missing directory, a directory (exit 2). */
export class InvalidOutputPathError extends UsageError {}
/** The filesystem refused: permission denied, read-only, full, an I/O error (exit 1). */
export class FilesystemError extends PocketcaError {}
export class CheckFailedError extends PocketcaError {}
export class OperationFailedError extends PocketcaError {}
/**
 * A step that waits for another thread (a key pair, a worker's reply, a file
 * synced on the thread pool) made no progress within its time: the run stops
 * with what it did (exit 1) instead of hanging. What stalled may never end,
 * so the process exits without waiting for it (src/cli/main.ts).
 */
export class StalledError extends PocketcaError {}
/** `share`: the link's time ran out before the downloads it allowed (exit 1). */
export class ShareExpiredError extends PocketcaError {}
/**
 * Ctrl-C stopped a command that was waiting (a share, an enrollment, a
 * prompt): the message says what was done, the hint the command that
 * continues. Exit 130, as a shell reports a command ended by SIGINT (128 + 2).
 */
export class InterruptedError extends PocketcaError {
  override readonly exitCode = 130 as const;
}
/** An interactive prompt was cancelled (Ctrl-C, Ctrl-D): nothing more was done. */
export class PromptCancelledError extends InterruptedError {}
/** `qr`: the text is not an absolute URL a phone can open (exit 2). */
export class InvalidUrlError extends UsageError {}
/** A file of the CA home (ca.pem, ca.key.pem) is unreadable or not what it should be (exit 1). */
export class CaFileDamagedError extends PocketcaError {}
/** `restore`: the file is not a pocketca backup, or it is damaged (exit 2). */
export class InvalidBackupError extends UsageError {}
/** `issue NAME` when NAME already has a valid certificate: `renew` is what was meant, `--force` adds another (exit 1). */
export class ValidCertificateExistsError extends PocketcaError {}
/** `restore`: the backup's signature does not verify with the CA certificate it carries (exit 1). */
export class BackupSignatureError extends PocketcaError {}
/** `restore --deployed-crl`: a CRL this CA did not sign, or one pocketca never writes (exit 1). */
export class CrlOfAnotherCaError extends PocketcaError {}
/** `restore`: a first-release backup, whose manifest is not signed, without --allow-unsigned (exit 1). */
export class UnsignedBackupError extends PocketcaError {}
/**
 * `scep`: a PKIOperation that is not a valid SCEP message for this CA
 * (malformed, a signature that fails, encrypted to another CA). Answered with
 * a CertRep FAILURE carrying `failInfo` (RFC 8894 §3.2.1.4); never ends the run.
 */
export class InvalidScepMessageError extends UsageError {
  constructor(
    message: string,
    readonly failInfo: 'badAlg' | 'badMessageCheck' | 'badRequest' | 'badTime' | 'badCertId',
  ) {
    super(message);
  }
}
/** `scep`: the enrollment ended without a certificate (--ttl passed, too many failed attempts): exit 1. */
export class ScepEnrollmentEndedError extends PocketcaError {}
/**
 * `scep`: the enrollment cannot vouch for the certificate it issued (a second
 * party sent the spent challenge with another key, or the watch window was
 * cut short by refused attempts); that certificate was revoked (exit 1).
 * `details` are lines for the user to compare with the device (serial,
 * SHA-256 fingerprint, addresses), printed before the error line.
 */
export class ScepEnrollmentCompromisedError extends PocketcaError {
  constructor(
    message: string,
    hint: string,
    readonly details: string[],
  ) {
    super(message, hint);
  }
}
