/**
 * The props of the `OutboundMail` construct, each with its default; `outboundMailSettings.ts`
 * fills the defaults in and checks the props against each other and AWS's limits.
 * @module
 */
import type { Duration, RemovalPolicy, Size } from 'aws-cdk-lib';
import type { IPeer, ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import type { IPrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { RelayCa } from './relayCa.js';

/** Props of {@link OutboundMail}. */
export interface OutboundMailProps {
  /**
   * The Secrets Manager secret holding the relay's settings
   * (`{"host","port","username","password","security"?,"clientName"?,"from"?}`), referenced by its
   * complete ARN (`Secret.fromSecretCompleteArn`) so the function may read that one secret only.
   */
  readonly smtpSecret: ISecret;
  /**
   * Messages sent over one SMTP connection: the event source's batch size. At most 10 on a FIFO
   * queue, 1000 on a standard one (over 10 needs {@link OutboundMailProps.maxBatchingWindow}).
   * @default 10
   */
  readonly mailPerConnection?: number;
  /**
   * Most SMTP connections open at once, i.e. the relay's connection limit: the event source's
   * maximum concurrency (2 to 1000). The function's reserved concurrency is left alone.
   * @default 2
   */
  readonly maxConnections?: number;
  /**
   * Most recipients per message (the function's `MAIL_MAX_RECIPIENTS`, 1 to 1000; SES relays take
   * 50). A job with more is sent in several transactions on the same connection, the same message
   * each time. Either way, recipients a relay refuses as "too many" get further transactions.
   * @default no limit of ours
   */
  readonly maxRecipientsPerMessage?: number;
  /**
   * Function memory in MiB (CPU grows with it, which shortens TLS handshakes).
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * The function's ephemeral storage (`/tmp`), whole MiB from 512 to 10,240. Offloaded jobs (claim
   * checks) are read into it before a batch is sent; the function gets `MAIL_SPOOL_BYTES` = this
   * less 112 MiB, and jobs past that in one batch come back for a later invocation.
   * @default Size.mebibytes(1024)
   */
  readonly ephemeralStorageSize?: Size;
  /**
   * Function timeout; the SMTP client's deadlines stay inside it.
   * @default Duration.seconds(60)
   */
  readonly timeout?: Duration;
  /**
   * Receives of a job before SQS moves it to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * How long the event source waits to fill a batch. Required (at least 1 second) when
   * `mailPerConnection` is over 10 on a standard queue; not allowed on a FIFO queue.
   * @default no batching window
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Visibility timeout of the mail queue; at least 6 x `timeout`.
   * @default 6 x timeout + maxBatchingWindow
   */
  readonly visibilityTimeout?: Duration;
  /**
   * How long the mail queue keeps a job; longer than the worst case of `maxReceiveCount` receives
   * each followed by the function's own backoff (up to 12 h per receive during a relay outage:
   * see `worstCaseRetrySeconds`), and shorter than the dead-letter queue's 14 days.
   * @default Duration.days(4)
   */
  readonly retentionPeriod?: Duration;
  /**
   * FIFO queues (jobs of one message group are sent in order; the function stops a batch at
   * its first failure). Producers then give a message group id and a deduplication id.
   * @default false
   */
  readonly fifo?: boolean;
  /**
   * Name of the mail queue (ending in `.fifo` on a FIFO queue); the dead-letter queue gets the
   * same name with `-dlq`. The name is fixed because the dead-letter queue's redrive-allow policy
   * must name its source queue before the source queue exists.
   * @default a name unique to this construct's path in the app
   */
  readonly queueName?: string;
  /**
   * How long the function's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * The oldest-job alarm fires when a job has waited on the mail queue longer than this.
   * @default Duration.minutes(30)
   */
  readonly oldestMessageAgeAlarm?: Duration;
  /**
   * Topic the alarms notify, on alarm and on recovery.
   * @default the alarms notify nobody
   */
  readonly alarmTopic?: ITopic;
  /**
   * CloudWatch namespace of the function's metrics (`POWERTOOLS_METRICS_NAMESPACE`); the
   * systemic-failure alarm watches it.
   * @default 'OutboundMail'
   */
  readonly metricsNamespace?: string;
  /**
   * The environment's name (e.g. `prod`). The function gets it as `MAIL_ENVIRONMENT` and writes it
   * as the `Environment` dimension of every metric, so environments sharing an account and region
   * keep their metrics apart, and the alarms and the dashboard read their own; it also names the
   * alarms (`OutboundMail-<name>-DeadLetterArrivals`, ...) and the dashboard (`OutboundMail-<name>`;
   * dashboards are global to the account). A letter, then letters, digits or `-`, at most 64.
   * @default a name unique to this construct's path in the app
   */
  readonly environmentName?: string;
  /**
   * What happens to the delivery ledger table when it leaves the stack (or the stack is deleted).
   * Keep `RETAIN` (which also turns on deletion protection) wherever mail matters; `DESTROY` suits
   * throw-away environments.
   * @default RemovalPolicy.RETAIN
   */
  readonly ledgerRemovalPolicy?: RemovalPolicy;
  /**
   * Buckets where producers keep files their jobs name by reference (`attachments[].s3`): the
   * function gets read access to each (`s3:GetObject*`, `s3:List*`). The claim-check bucket needs no entry.
   * Its removal policy follows `ledgerRemovalPolicy`.
   * @default none (a reference to another bucket fails as permanent, phase payload, AccessDenied)
   */
  readonly attachmentBuckets?: readonly IBucket[];
  /**
   * The only recipients the function may mail (`MAIL_ALLOWED_RECIPIENTS`): addresses
   * (`qa@example.com`), domains (`example.com`, not its subdomains) and subdomains
   * (`.example.com`); any other recipient of a job is left out (outcome `suppressed`, metric
   * `RecipientsSuppressed`). Give it on every stack that must never mail a real customer.
   * @default every recipient
   */
  readonly allowedRecipients?: readonly string[];
  /**
   * The VPC to run the function in, for a relay only reachable from inside it. The function then
   * reaches AWS's APIs (SQS, Secrets Manager, DynamoDB, SSM, X-Ray) through the VPC: a NAT gateway
   * or VPC endpoints.
   * @default not in a VPC (the relay is reachable from the internet)
   */
  readonly vpc?: IVpc;
  /**
   * The VPC's subnets for the function's network interfaces; only with {@link OutboundMailProps.vpc}.
   * @default the VPC's private subnets with egress
   */
  readonly vpcSubnets?: SubnetSelection;
  /**
   * The function's security groups; only with {@link OutboundMailProps.vpc}. When given, their
   * egress is the caller's: the function needs the relay's port and 443 to AWS's APIs.
   * @default one security group, no inbound, egress only to the relay ({@link OutboundMailProps.relayPorts}
   *   to {@link OutboundMailProps.relayPeer}) and to 443 ({@link OutboundMailProps.awsApiPeer})
   */
  readonly securityGroups?: readonly ISecurityGroup[];
  /**
   * The relay's TCP ports, opened in the default security group's egress: 587 (STARTTLS), 465
   * (implicit TLS) or 25, as the relay secret's `port` says.
   * @default [587]
   */
  readonly relayPorts?: readonly number[];
  /**
   * Where the relay is, for the default security group's egress to {@link OutboundMailProps.relayPorts}:
   * e.g. `Peer.ipv4('10.20.0.0/24')`.
   * @default Peer.anyIpv4()
   */
  readonly relayPeer?: IPeer;
  /**
   * Where AWS's APIs are, for the default security group's egress on 443: e.g. `Peer.ipv4(vpc.vpcCidrBlock)`
   * when interface endpoints serve SQS, Secrets Manager, SSM and X-Ray and a gateway endpoint serves DynamoDB
   * (add the DynamoDB prefix list with `securityGroup.addEgressRule` then).
   * @default Peer.anyIpv4() (through a NAT gateway)
   */
  readonly awsApiPeer?: IPeer;
  /**
   * The certificate authority the relay's certificate chains to, when it is a private one:
   * `RelayCa.fromFile(path)` (bundled with the function, `SMTP_CA_FILE`),
   * `RelayCa.fromParameter(parameter)` (`SMTP_CA_PARAMETER`) or `RelayCa.fromSecret(secret)`
   * (`SMTP_CA_SECRET_ID`), read once by the function and trusted for the relay, with
   * verification on.
   * @default the public CAs Node trusts
   */
  readonly relayCa?: RelayCa;
  /**
   * The customer managed KMS key the relay secret (and a CA secret) are encrypted with: the
   * function may decrypt with it through Secrets Manager only (`kms:ViaService`).
   * @default the secret uses the AWS managed key `aws/secretsmanager` (no grant needed)
   */
  readonly smtpSecretKey?: IKey;
  /**
   * Producers in other accounts (e.g. `new AccountPrincipal('444455556666')`, or a role ARN as
   * `new ArnPrincipal(...)`): the queue's resource policy lets them send jobs
   * (`sqs:SendMessage`, `sqs:GetQueueUrl`, `sqs:GetQueueAttributes`); their own account must still
   * allow it in their IAM policies. The queue is encrypted with SSE-SQS, so no key grant is needed.
   * Producers in this account: {@link OutboundMail.grantPublish}.
   * @default no one outside this account
   */
  readonly producers?: readonly IPrincipal[];
  /**
   * Prefix of the SSM parameters holding the queue's URL and ARN (`<prefix>/queue-url`,
   * `<prefix>/queue-arn`), for producers in this account and region to look up; `false`: none.
   * @default `/outbound-mail/<environmentName>`
   */
  readonly parameterPrefix?: string | false;
}
