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
}

/** The VPC the capture task and the loader run in: private subnets with egress. */
export class Network extends Construct {
  readonly vpc: ec2.IVpc;

  constructor(scope: Construct, id: string, props: NetworkProps = {}) {
    super(scope, id);
    if (props.existingVpcId) {
      this.vpc = ec2.Vpc.fromLookup(this, 'Vpc', { vpcId: props.existingVpcId });
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
  }
}
