/**
 * Our own stand-in for CloudFormation's query API, answering `DescribeStacks` only, on
 * 127.0.0.1: enough for the tools that read a stack's outputs (`--stack`), as the scripted SMTP
 * server is for the client. Point the SDK at it with `AWS_ENDPOINT_URL_CLOUDFORMATION`.
 * @module
 */
import { createServer } from 'node:http';
import { listenOnLoopback } from './loopbackHttp.js';

/** A running stand-in. */
export interface CloudFormationStandIn {
  endpoint: string;
  /** The `Action`s asked for, in order. */
  actions: string[];
  close(): Promise<void>;
}

const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Starts the stand-in with these stacks (name -> outputs). An unknown stack gets CloudFormation's
 * answer: HTTP 400, `ValidationError`, "Stack with id X does not exist".
 * @example
 * const cloudFormation = await startCloudFormationStandIn({ 'OutboundMail-prod': { QueueUrl: url, DeadLetterQueueUrl: dlq } });
 */
export async function startCloudFormationStandIn(stacks: Record<string, Record<string, string>>): Promise<CloudFormationStandIn> {
  const actions: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const action = form.get('Action') ?? '';
      actions.push(action);
      const name = form.get('StackName') ?? '';
      const outputs = stacks[name];
      res.setHeader('content-type', 'text/xml');
      if (action !== 'DescribeStacks' || outputs === undefined) {
        res.statusCode = 400;
        const message = action === 'DescribeStacks' ? `Stack with id ${name} does not exist` : `${action} is not served by this stand-in`;
        res.end(
          `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>${xml(message)}</Message></Error><RequestId>stand-in</RequestId></ErrorResponse>`,
        );
        return;
      }
      const members = Object.entries(outputs)
        .map(([key, value]) => `<member><OutputKey>${xml(key)}</OutputKey><OutputValue>${xml(value)}</OutputValue></member>`)
        .join('');
      res.end(
        `<DescribeStacksResponse xmlns="${NS}"><DescribeStacksResult><Stacks><member>` +
          `<StackName>${xml(name)}</StackName><StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/${xml(name)}/1</StackId>` +
          `<CreationTime>2026-12-01T00:00:00.000Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${members}</Outputs>` +
          `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>stand-in</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
    });
  });
  return { ...(await listenOnLoopback(server)), actions };
}
