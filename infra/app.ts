import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stackPropsFromContext } from './stack-props-from-context.js';
import { TotesysCdcStack } from './totesys-cdc-stack.js';

/**
 * CDK app entry (`npx cdk synth|deploy` runs it via cdk.json). Settings come from context:
 *   npx cdk deploy -c sourceSecretArn=... -c warehouseSecretArn=... [-c alertEmail=...] [-c vpcId=...]
 * (every key: CONTEXT_KEYS in stack-props-from-context.ts, explained in docs/deploy.md)
 * cdk-nag's AWS Solutions checks run on every synthesis; an unacknowledged finding fails it.
 */
const app = new App();
const props = stackPropsFromContext((key) => app.node.tryGetContext(key));
new TotesysCdcStack(app, String(app.node.tryGetContext('stackName') ?? 'TotesysCdc'), {
  ...props,
  // Looking up an existing VPC needs a concrete environment; a new VPC works environment-agnostic.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'totesys-cdc: Postgres logical replication -> Kinesis -> star-schema Parquet -> warehouse',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
