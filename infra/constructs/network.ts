import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface NetworkProps {
  /** Use this existing VPC (looked up at synth time: needs an explicit account/region). @default a new VPC */
  readonly existingVpcId?: string;
  /** New VPC only. @default 2 */
  readonly maxAzs?: number;
  /** New VPC only: NAT gateways for private-subnet egress (Kinesis, S3, Secrets Manager, the source). @default 1 */
  readonly natGateways?: number;
  /**
   * VPC endpoints, so the pipeline's data does not pay NAT processing ($0.045/GB in most regions):
   * - 'gateway': S3 and DynamoDB gateway endpoints (free)
   * - 'all': also interface endpoints for Kinesis, Secrets Manager and CloudWatch Logs (about
   *   $7.30 a month each per AZ plus $0.01/GB; worth it above roughly 500 GB a month through NAT)
   * - 'none': nothing (an existing VPC usually has its own: a second S3 gateway endpoint on the
   *   same route tables would conflict)
   * @default 'gateway' for a new VPC, 'none' for an existing one
   */
  readonly endpoints?: 'none' | 'gateway' | 'all';
}

/** The interface endpoints 'all' adds (service, construct id). */
const INTERFACE_ENDPOINTS = [
  ['KINESIS_STREAMS', 'KinesisEndpoint'],
  ['SECRETS_MANAGER', 'SecretsManagerEndpoint'],
  ['CLOUDWATCH_LOGS', 'LogsEndpoint'],
] as const;

/** The VPC the capture task and the loader run in: private subnets with egress. */
export class Network extends Construct {
  readonly vpc: ec2.IVpc;

  constructor(scope: Construct, id: string, props: NetworkProps = {}) {
    super(scope, id);
    if (props.existingVpcId) {
      this.vpc = ec2.Vpc.fromLookup(this, 'Vpc', { vpcId: props.existingVpcId });
      this.addEndpoints(props.endpoints ?? 'none');
      return;
    }
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: props.maxAzs ?? 2,
      natGateways: props.natGateways ?? 1,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
    });
    vpc.addFlowLog('FlowLogs', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogGroup', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
      ),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });
    this.vpc = vpc;
    this.addEndpoints(props.endpoints ?? 'gateway');
  }

  private addEndpoints(kind: 'none' | 'gateway' | 'all'): void {
    if (kind === 'none') return;
    const subnets = [{ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }];
    this.vpc.addGatewayEndpoint('S3Endpoint', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets });
    this.vpc.addGatewayEndpoint('DynamoDbEndpoint', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets });
    if (kind !== 'all') return;
    for (const [service, id] of INTERFACE_ENDPOINTS) {
      // CDK gives each endpoint a security group open on 443 to the VPC's CIDR; private DNS makes
      // the SDKs' default endpoints resolve to it, no code change.
      this.vpc.addInterfaceEndpoint(id, { service: ec2.InterfaceVpcEndpointAwsService[service], privateDnsEnabled: true, subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } });
    }
  }
}
