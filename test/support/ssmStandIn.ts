/**
 * Our own stand-in for SSM's JSON API, answering `GetParameter` only, on 127.0.0.1: enough for the
 * function reading its relay's CA (`SMTP_CA_PARAMETER`), as the scripted SMTP server is for the
 * client (no SSM emulator exists). Point the SDK at it with `AWS_ENDPOINT_URL_SSM`.
 * @module
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the stand-in received. */
export interface SsmCall {
  /** `GetParameter`, or whatever else was asked (answered with an error). */
  action: string;
  body: Record<string, unknown>;
}

/** A running stand-in. */
export interface SsmStandIn {
  endpoint: string;
  /** The parameters it serves (name -> value); change it to add or remove one. */
  parameters: Map<string, string>;
  calls: SsmCall[];
  close(): Promise<void>;
}

/**
 * Starts the stand-in. An unknown parameter gets SSM's answer: HTTP 400, `ParameterNotFound`.
 * @example
 * const ssm = await startSsmStandIn({ '/pki/relay-ca': caPem });
 * process.env['AWS_ENDPOINT_URL_SSM'] = ssm.endpoint;
 */
export async function startSsmStandIn(parameters: Record<string, string> = {}): Promise<SsmStandIn> {
  const served = new Map(Object.entries(parameters));
  const calls: SsmCall[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const action = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSSM\./, '');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        // an empty or broken body is answered below
      }
      calls.push({ action, body });
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      const name = typeof body['Name'] === 'string' ? body['Name'] : '';
      const value = served.get(name);
      if (action !== 'GetParameter' || value === undefined) {
        res.statusCode = 400;
        res.end(
          JSON.stringify(
            action === 'GetParameter'
              ? { __type: 'ParameterNotFound', message: `Parameter ${name} not found.` }
              : { __type: 'InvalidAction', message: `${action} is not served by this stand-in` },
          ),
        );
        return;
      }
      res.end(
        JSON.stringify({
          Parameter: {
            Name: name,
            Type: 'String',
            Value: value,
            Version: 1,
            ARN: `arn:aws:ssm:us-east-1:000000000000:parameter${name.startsWith('/') ? '' : '/'}${name}`,
            DataType: 'text',
          },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    parameters: served,
    calls,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
