import { makeAuthority, makeLocalhostCertificate } from '../../../lib/local/certificate.js';

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
  const validity = { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 24 * 3_600_000), keyType: 'ec' as const };
  const ca = await makeAuthority('outbound-mail throwaway test CA', validity);
  const server = await makeLocalhostCertificate(ca, validity);
  return { caPem: ca.cert, certPem: server.cert, keyPem: server.key };
}
