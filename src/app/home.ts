/**
 * The CA home (SPEC "The CA home"): where its files live, opening them, and
 * unlocking the CA key. Commands get one CaHome and close it at the end.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { CaNotFoundError, PocketcaError } from '../errors';
import { decryptPrivateKey } from '../formats/encrypted-key';
import { fromPem } from '../formats/pem';
import { parseCertificate, type ParsedCertificate } from '../formats/x509';
import { openDatabase, type Db } from '../store/database';

export class CaHome {
  readonly dbPath: string;
  readonly keyPath: string;
  readonly certPath: string;
  readonly bundlePath: string;
  readonly crlPath: string;
  private db: Db | undefined;
  private ca: ParsedCertificate | undefined;

  constructor(readonly dir: string) {
    this.dbPath = join(dir, 'pocketca.db');
    this.keyPath = join(dir, 'ca.key.pem');
    this.certPath = join(dir, 'ca.pem');
    this.bundlePath = join(dir, 'bundle.pem');
    this.crlPath = join(dir, 'crl.pem');
  }

  /** True when any part of a CA is present (init must not touch it). */
  hasAnyCaFile(): boolean {
    return [this.dbPath, this.keyPath, this.certPath].some((p) => existsSync(p));
  }

  private requireCa(): void {
    if (!existsSync(this.certPath) && !existsSync(this.dbPath)) {
      throw new CaNotFoundError(`no CA in ${this.dir}`, `create one with \`pocketca init --home ${this.dir}\`, or point --home / POCKETCA_HOME at it`);
    }
  }

  database(): Db {
    if (!this.db) {
      this.requireCa();
      this.db = openDatabase(this.dbPath, { create: false });
    }
    return this.db;
  }

  /** Adopt a database this process just created (init). */
  adoptDatabase(db: Db): void {
    this.db = db;
  }

  caCertificate(): ParsedCertificate {
    if (!this.ca) {
      this.requireCa();
      let text: string;
      try {
        text = readFileSync(this.certPath, 'latin1');
      } catch {
        throw new CaNotFoundError(`the CA certificate ${this.certPath} is missing`, 'restore the home from a backup with `pocketca restore`');
      }
      const der = fromPem(text, ['CERTIFICATE']);
      if (!der) throw new PocketcaError(`${this.certPath} holds no certificate`, 'restore the home from a backup with `pocketca restore`');
      this.ca = parseCertificate(der);
    }
    return this.ca;
  }

  caCertificatePem(): string {
    return readFileSync(this.certPath, 'utf8');
  }

  /** Decrypt the CA key; checks it belongs to the CA certificate. */
  unlockKey(passphrase: string): KeyObject {
    let pem: Buffer;
    try {
      pem = readFileSync(this.keyPath);
    } catch {
      throw new CaNotFoundError(`the CA key ${this.keyPath} is missing`, 'restore the home from a backup with `pocketca restore`');
    }
    if (!pem.toString('latin1').includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
      throw new PocketcaError(`${this.keyPath} is not an encrypted private key`, 'restore the home from a backup with `pocketca restore`');
    }
    const key = decryptPrivateKey(pem, passphrase);
    const ca = this.caCertificate();
    if (!createPublicKey(key).export({ type: 'spki', format: 'der' }).equals(ca.spkiDer)) {
      throw new PocketcaError(`${this.keyPath} does not belong to the CA certificate ${this.certPath}`, 'restore the home from a backup with `pocketca restore`');
    }
    return key;
  }

  keyFileMode(): number | undefined {
    try {
      return statSync(this.keyPath).mode & 0o777;
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }
}
