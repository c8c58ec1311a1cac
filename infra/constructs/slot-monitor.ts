import { Aws, Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENTRY } from '../repo-paths.js';
import { databaseClientSecurityGroup, type DatabaseConnection, grantSecretRead, lambdaDatabaseEnvironment } from './database-connection.js';
import { NodeLambda } from './node-lambda.js';

export interface SlotMonitorProps {
  readonly vpc: ec2.IVpc;
  /** @default private subnets with egress */
  readonly subnets?: ec2.SubnetSelection;
  readonly source: DatabaseConnection;
  /** @default 'totesys_cdc' */
  readonly slotName?: string;
  /** The capture's publication, whose snapshot marker tells a lost slot from one never created. @default 'totesys_cdc' */
  readonly publicationName?: string;
  /** @default 'verify-full' */
  readonly sourceSslMode?: 'disable' | 'require' | 'verify-ca' | 'verify-full' | 'no-verify';
  /** @default Duration.minutes(1) */
  readonly period?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Measures the replication slot's lag from the database side every minute (monitor/), so the
 * slot-lag alarm keeps data when the capture, its other producer, is down: exactly when the slot
 * retains WAL and the source disk fills.
 */
export class SlotMonitor extends Construct {
  readonly function: lambda.IFunction;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: SlotMonitorProps) {
    super(scope, id);
    this.securityGroup = databaseClientSecurityGroup(this, props.vpc, 'totesys-cdc slot monitor: egress to the source Postgres (5432) and Secrets Manager (443)', [
      { db: props.source, description: 'totesys-cdc slot monitor to the source Postgres' },
    ]);

    const fn = new NodeLambda(this, 'Handler', {
      entry: ENTRY.slotMonitorHandler,
      description: 'totesys-cdc slot monitor: replication slot lag from the source database',
      memorySize: 256,
      timeout: Duration.seconds(30),
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      reservedConcurrentExecutions: 1,
      network: { vpc: props.vpc, subnets: props.subnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, securityGroup: this.securityGroup },
      environment: {
        ...lambdaDatabaseEnvironment('TOTESYS_SOURCE', props.source),
        TOTESYS_SLOT_NAME: props.slotName ?? 'totesys_cdc',
        TOTESYS_PUBLICATION_NAME: props.publicationName ?? 'totesys_cdc',
        PGSSLMODE: props.sourceSslMode ?? 'verify-full',
        // The Lambda runtime ships the RDS CAs here; Node does not trust them by default.
        NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
      },
    });
    this.function = fn.function;
    grantSecretRead(fn.role, props.source, 'Source', Aws.REGION);
    new events.Rule(this, 'Schedule', {
      description: 'totesys-cdc slot monitor tick',
      schedule: events.Schedule.rate(props.period ?? Duration.minutes(1)),
      targets: [new targets.LambdaFunction(fn.function, { retryAttempts: 0 })],
    });
    fn.function.configureAsyncInvoke({ maxEventAge: Duration.seconds(60), retryAttempts: 0 });
  }
}
