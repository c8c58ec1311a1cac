import type { Config } from '../../platform/config.js';

/**
 * `status` shows the AWS status without --aws when the settings are those of a deployment (as in the
 * ECS operations task): Kinesis, S3 and DynamoDB, none of them pointed at an emulator. A local
 * pipeline on emulators keeps the local status (its stream lag comes from its own checkpoints).
 */
export function isAwsDeployment(config: Readonly<Config>): boolean {
  return (
    config.stream.kind === 'kinesis' &&
    !config.stream.endpoint &&
    config.buckets.kind === 's3' &&
    !config.buckets.endpoint &&
    config.stateStore.kind === 'dynamodb' &&
    !config.stateStore.endpoint
  );
}
