import { generate } from 'selfsigned';

/** A throwaway CA and a server certificate it signed, all PEM. */
export interface ServerCertificate {
  /** The CA certificate: what a client passes as `tls.ca` to trust the server. */
  readonly caPem: string;
  /** The server certificate, for `localhost` and `127.0.0.1`. */
  readonly certPem: string;
  /** The server's private key. */
  readonly keyPem: string;
}

/**
 * Makes a fresh CA and a server certificate for `localhost` / `127.0.0.1` signed by it.
 *
 * Why a CA and not one self-signed certificate: clients then verify the chain the normal way
 * (`tls: { ca }`), with hostname checks on, exactly as against a real provider. EC keys keep
 * this fast enough to run at every server start.
 *
 * @example
 * const { caPem, certPem, keyPem } = await makeServerCertificate();
 */
export async function makeServerCertificate(): Promise<ServerCertificate> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(Date.now() + 24 * 3_600_000);
  const ca = await generate([{ name: 'commonName', value: 'outbound-mail throwaway test CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
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
  return { caPem: ca.cert, certPem: server.cert, keyPem: server.private };
}
