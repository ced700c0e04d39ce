/**
 * Size limits on what pocketca reads (SPEC: a CSR is a few kilobytes; refuse
 * megabytes with exit 2 before parsing). Checked on the file's size before a
 * byte is read, so a wrong file (a disk image, /dev/zero through a FIFO) is
 * refused at once instead of filling memory.
 */

/** A CSR: an RSA-4096 request with many SANs is under 8 KiB. */
export const MAX_CSR_BYTES = 64 * 1024;

/** ca.pem, ca.key.pem, profile-signer.key.pem, crl.pem in the home: kilobytes, or megabytes for a CRL with 100,000 entries. */
export const MAX_HOME_FILE_BYTES = 64 * 1024 * 1024;

/** A backup: mostly the database (about 2 KiB a certificate). */
export const MAX_BACKUP_BYTES = 1024 * 1024 * 1024;
