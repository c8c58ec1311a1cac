import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { secretPolicyArn } from './secret-reference.js';

/** Where a database listens, when its secret does not say (an RDS-managed master secret holds only username and password). */
export interface DatabaseEndpoint {
  readonly host: string;
  /** @default 5432 */
  readonly port?: number;
  readonly database: string;
}

/**
 * A Postgres database the stack connects to, as RDS users have it: a Secrets Manager secret with
 * at least `username` and `password`, and the host, port and database either in the same secret
 * (the RDS JSON format `{host, port, dbname, username, password}`) or given here.
 */
export interface DatabaseConnection {
  readonly secret: secretsmanager.ISecret;
  /** Host, port and database. @default read from the secret's `host`, `port` and `dbname` keys */
  readonly endpoint?: DatabaseEndpoint;
  /**
   * Customer-managed KMS key the secret is encrypted with (RDS-managed secrets may use one):
   * whoever reads the secret also gets kms:Decrypt on it, through Secrets Manager only.
   * @default the AWS managed key aws/secretsmanager (no grant needed)
   */
  readonly secretKey?: kms.IKey;
  /**
   * The database's security group: the stack adds ingress on its port from each component that
   * connects, and those components' egress goes to this group only.
   * @default no ingress is added (allow the components' security groups yourself); egress to any address on the port
   */
  readonly securityGroup?: ec2.ISecurityGroup;
}

const portOf = (db: DatabaseConnection): number => db.endpoint?.port ?? 5432;

/**
 * ECS container variables `<prefix>_HOST/_PORT/_DB/_USER/_PASSWORD` for a database: credentials
 * always as ECS secrets (injected at task start, never in the task definition), the endpoint as
 * plain environment when it is given, else from the secret's keys.
 */
export function ecsDatabaseVariables(prefix: string, db: DatabaseConnection): { environment: Record<string, string>; secrets: Record<string, ecs.Secret> } {
  const secrets: Record<string, ecs.Secret> = {};
  const environment: Record<string, string> = {};
  if (db.endpoint) {
    environment[`${prefix}_HOST`] = db.endpoint.host;
    environment[`${prefix}_PORT`] = String(portOf(db));
    environment[`${prefix}_DB`] = db.endpoint.database;
  } else {
    secrets[`${prefix}_HOST`] = ecs.Secret.fromSecretsManager(db.secret, 'host');
    secrets[`${prefix}_PORT`] = ecs.Secret.fromSecretsManager(db.secret, 'port');
    secrets[`${prefix}_DB`] = ecs.Secret.fromSecretsManager(db.secret, 'dbname');
  }
  secrets[`${prefix}_USER`] = ecs.Secret.fromSecretsManager(db.secret, 'username');
  secrets[`${prefix}_PASSWORD`] = ecs.Secret.fromSecretsManager(db.secret, 'password');
  return { environment, secrets };
}

/** Plain environment naming the endpoint for code that reads the secret itself (Lambdas). */
export function lambdaDatabaseEnvironment(prefix: string, db: DatabaseConnection): Record<string, string> {
  const env: Record<string, string> = { [`${prefix}_SECRET_ARN`]: db.secret.secretArn };
  if (db.endpoint) {
    env[`${prefix}_HOST`] = db.endpoint.host;
    env[`${prefix}_PORT`] = String(portOf(db));
    env[`${prefix}_DB`] = db.endpoint.database;
  }
  return env;
}

/** Lets `grantee` read the secret (and decrypt it with its customer-managed key, via Secrets Manager only). */
export function grantSecretRead(grantee: iam.IGrantable, db: DatabaseConnection, sid: string, region: string): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ sid: `Read${sid}Secret`, actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], resources: [secretPolicyArn(db.secret.secretArn)] }),
  );
  grantKeyDecrypt(grantee, db, sid, region);
}

/** kms:Decrypt on the secret's customer-managed key, only through Secrets Manager (ECS secret injection reads it this way too). */
export function grantKeyDecrypt(grantee: iam.IGrantable, db: DatabaseConnection, sid: string, region: string): void {
  if (!db.secretKey) return;
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: `Decrypt${sid}Secret`,
      actions: ['kms:Decrypt'],
      resources: [db.secretKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` } },
    }),
  );
}

/**
 * A component's path to a database: egress from its security group on the database port (to the
 * database's group when known) and, when the database's group is given, the matching ingress.
 */
function connectToDatabase(from: ec2.SecurityGroup, db: DatabaseConnection, description: string): void {
  const port = ec2.Port.tcp(portOf(db));
  if (db.securityGroup) {
    from.addEgressRule(db.securityGroup, port, description);
    db.securityGroup.addIngressRule(from, port, description);
  } else {
    from.addEgressRule(ec2.Peer.anyIpv4(), port, description);
  }
}

/** HTTPS to AWS APIs (through the NAT gateway or the VPC's interface endpoints). */
function allowAwsApis(from: ec2.SecurityGroup): void {
  from.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs (NAT gateway or VPC endpoints)');
}

/**
 * A component's own security group (logical id `SecurityGroup` in `scope`): no egress but to each
 * of its databases on the database port (see connectToDatabase) and HTTPS to AWS APIs.
 */
export function databaseClientSecurityGroup(
  scope: Construct,
  vpc: ec2.IVpc,
  description: string,
  databases: readonly { db: DatabaseConnection; description: string }[],
): ec2.SecurityGroup {
  const group = new ec2.SecurityGroup(scope, 'SecurityGroup', { vpc, description, allowAllOutbound: false });
  for (const { db, description: ruleDescription } of databases) connectToDatabase(group, db, ruleDescription);
  allowAwsApis(group);
  return group;
}
