/**
 * TLS material of the local SMTP server: a private certificate authority and a server
 * certificate for `localhost` and `127.0.0.1` signed by it, made on the first run and kept in
 * the state folder, so that the handler can verify the server (`SMTP_CA_FILE`) exactly as it
 * verifies a relay with a private CA. Made anew when missing, unreadable or within a week of expiry.
 * @module
 */
import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generate } from 'selfsigned';

/** The local TLS material (PEM) and where the authority's certificate is kept. */
export interface LocalTls {
  /** The authority's certificate: the handler's `SMTP_CA_FILE`. */
  caFile: string;
  ca: string;
  key: string;
  cert: string;
  /** True when it was made by this call (first run, or the old one was expiring). */
  made: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const VALID_DAYS = 825;
const RENEW_WITHIN_MS = 7 * DAY_MS;

/**
 * The local TLS material in `dir`, made if needed.
 * @example
 * const tls = await localTls(layout.tlsDir);
 * new SMTPServer({ key: tls.key, cert: tls.cert });
 */
export async function localTls(dir: string): Promise<LocalTls> {
  const files = {
    ca: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca-key.pem'),
    cert: path.join(dir, 'server.pem'),
    key: path.join(dir, 'server-key.pem'),
  };
  try {
    const [ca, cert, key] = await Promise.all([readFile(files.ca, 'utf8'), readFile(files.cert, 'utf8'), readFile(files.key, 'utf8')]);
    if (usable(ca, cert)) return { caFile: files.ca, ca, key, cert, made: false };
  } catch {
    // missing: made below
  }
  const made = await makeTls();
  await writeFile(files.caKey, made.caKey, { mode: 0o600 });
  await writeFile(files.key, made.key, { mode: 0o600 });
  await writeFile(files.cert, made.cert);
  await writeFile(files.ca, made.ca);
  return { caFile: files.ca, ca: made.ca, key: made.key, cert: made.cert, made: true };
}

/** The server certificate was signed by the authority and neither expires soon. */
function usable(caPem: string, certPem: string): boolean {
  try {
    const ca = new X509Certificate(caPem);
    const cert = new X509Certificate(certPem);
    const soon = Date.now() + RENEW_WITHIN_MS;
    return cert.verify(ca.publicKey) && Date.parse(ca.validTo) > soon && Date.parse(cert.validTo) > soon && cert.checkIP('127.0.0.1') !== undefined;
  } catch {
    return false;
  }
}

async function makeTls(): Promise<{ ca: string; caKey: string; cert: string; key: string }> {
  const validity = { notBefore: new Date(Date.now() - DAY_MS), notAfter: new Date(Date.now() + VALID_DAYS * DAY_MS) };
  const authority = await makeAuthority('outbound-mail local run CA', validity);
  const leaf = await makeLocalhostCertificate(authority, validity);
  return { ca: authority.cert, caKey: authority.key, cert: leaf.cert, key: leaf.key };
}

/** A key pair and its certificate, PEM. */
export interface KeyAndCertificate {
  key: string;
  cert: string;
}

/** How long a certificate is valid, and its key type (EC is much faster to make than RSA 2048). */
export interface CertificateValidity {
  notBefore: Date;
  notAfter: Date;
  /** @default 'rsa' (2048 bits) */
  keyType?: 'rsa' | 'ec';
}

/**
 * Makes a certificate authority (self-signed, may sign certificates). Used by the local run and
 * by the test servers, so every TLS peer here is verified the normal way: `tls: { ca }`.
 * @example
 * const ca = await makeAuthority('my test CA', { notBefore: new Date(), notAfter: new Date(Date.now() + 86_400_000) });
 */
export async function makeAuthority(commonName: string, validity: CertificateValidity): Promise<KeyAndCertificate> {
  const made = await generate([{ name: 'commonName', value: commonName }], {
    ...keyOptions(validity),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  return { key: made.private, cert: made.cert };
}

/**
 * Makes a server certificate for DNS `localhost` and IP `127.0.0.1`, signed by `authority`.
 * @example
 * const server = await makeLocalhostCertificate(ca, validity);
 * new SMTPServer({ key: server.key, cert: server.cert });
 */
export async function makeLocalhostCertificate(authority: KeyAndCertificate, validity: CertificateValidity): Promise<KeyAndCertificate> {
  const made = await generate([{ name: 'commonName', value: 'localhost' }], {
    ...keyOptions(validity),
    ca: authority,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return { key: made.private, cert: made.cert };
}

function keyOptions(validity: CertificateValidity) {
  return {
    ...(validity.keyType === 'ec' ? { keyType: 'ec' as const } : { keySize: 2048 }),
    algorithm: 'sha256' as const,
    notBeforeDate: validity.notBefore,
    notAfterDate: validity.notAfter,
  };
}
