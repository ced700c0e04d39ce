/**
 * A PKCSReq made from parts openssl makes (key, CSR with a challengePassword,
 * self-signed signer certificate), wrapped with src/formats/scep.ts's writer:
 * for the cases scepclient cannot be made to send (a CSR whose signature
 * fails). A test that uses it enrolls with the same parts unbroken too, so a
 * refusal cannot come from a wrong wrapper.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constructed, explicit, octetString, oid, sequence, set, smallInteger } from '../../src/formats/der';
import { buildPkiMessage, MESSAGE_TYPE, sealEnvelope } from '../../src/formats/scep';
import { openssl } from './cli';

export interface PkcsReqParts {
  csrDer: Buffer;
  signer: { certDer: Buffer; key: ReturnType<typeof createPrivateKey> };
}

/** `openssl req` parts in `dir` for CN=cn with the challenge. */
export function pkcsReqParts(dir: string, cn: string, challenge: string): PkcsReqParts {
  const config = join(dir, 'req.cnf');
  writeFileSync(config, `[req]\nprompt = no\ndistinguished_name = dn\nattributes = attrs\n[dn]\nCN = ${cn}\n[attrs]\nchallengePassword = ${challenge}\n`);
  const run = (args: string[]) => {
    const r = openssl(args);
    assert.equal(r.code, 0, r.stderr);
  };
  run(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', join(dir, 'key.pem')]);
  run(['req', '-new', '-key', join(dir, 'key.pem'), '-config', config, '-outform', 'DER', '-out', join(dir, 'csr.der')]);
  run(['req', '-x509', '-key', join(dir, 'key.pem'), '-subj', '/CN=SCEP SIGNER', '-days', '1', '-out', join(dir, 'signer.pem')]);
  return {
    csrDer: readFileSync(join(dir, 'csr.der')),
    signer: { certDer: new X509Certificate(readFileSync(join(dir, 'signer.pem'))).raw, key: createPrivateKey(readFileSync(join(dir, 'key.pem'))) },
  };
}

/** The PKCSReq PKIMessage (DER) of `csrDer`, encrypted to the CA with AES-128-CBC, signed by the signer. */
export function pkcsReq(parts: PkcsReqParts, csrDer: Buffer, caCertDer: Buffer, transactionId: string): Buffer {
  return buildPkiMessage({
    messageType: MESSAGE_TYPE.PKCSReq,
    transactionId,
    senderNonce: randomBytes(16),
    content: sealEnvelope(csrDer, caCertDer, 'aes-128-cbc', randomBytes),
    signer: parts.signer,
  });
}

/** The CSR with one bit of its signature flipped (the last byte of the DER is in the signature BIT STRING). */
export function breakSignature(csrDer: Buffer): Buffer {
  const broken = Buffer.from(csrDer);
  broken[broken.length - 1]! ^= 0x01;
  return broken;
}

/**
 * Issue 16, item 5: a bare SignedData (one empty SignerInfo, no signature)
 * whose eContent is `depth` constructed OCTET STRINGs (`24 len ...`) around
 * `04 01 'x'`: about 4 bytes a level. Before the fix, ~3,000 levels overflowed
 * the stack of the content reader and ended `pocketca scep` with a 500.
 */
export function nestedOctetStringMessage(depth: number): Buffer {
  let inner = octetString(Buffer.from('x'));
  for (let i = 0; i < depth; i++) inner = constructed(0x24, [inner]);
  const signedData = sequence(smallInteger(1), set(), sequence(oid('1.2.840.113549.1.7.1'), explicit(0, inner)), set(sequence()));
  return sequence(oid('1.2.840.113549.1.7.2'), explicit(0, signedData));
}
