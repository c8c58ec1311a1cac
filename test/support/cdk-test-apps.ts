import { App, type Stack } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { ObservabilityProps } from '../../infra/constructs/observability.js';

/**
 * For construct-wiring tests: returns a factory of CDK Apps, each synthesizing into its own
 * directory under one temp dir that is removed afterwards, with the CloudFormation schema
 * validation `synth` runs by default switched off for the file (it costs ~15 s to load; the
 * full-stack test, totesys-cdc-stack.test.ts, runs it). Call at the top level of a test file.
 */
export function useUnvalidatedApps(): () => App {
  let previousValidation: string | undefined;
  let outRoot: string;
  beforeAll(() => {
    outRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'totesys-infra-'));
    previousValidation = process.env.CDK_VALIDATION;
    process.env.CDK_VALIDATION = 'false';
  });
  afterAll(() => {
    fs.rmSync(outRoot, { recursive: true, force: true });
    if (previousValidation === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = previousValidation;
  });
  return () => new App({ outdir: fs.mkdtempSync(path.join(outRoot, 'app-')) });
}

/** Observability's required props, pointing at imported (not created) stream, functions and queue of `stack`. */
export function importedObservabilityProps(stack: Stack): ObservabilityProps {
  return {
    stream: kinesis.Stream.fromStreamArn(stack, 'S', 'arn:aws:kinesis:eu-west-2:123456789012:stream/s'),
    processorFunction: lambda.Function.fromFunctionName(stack, 'P', 'processor'),
    processorDeadLetterQueue: sqs.Queue.fromQueueArn(stack, 'Q', 'arn:aws:sqs:eu-west-2:123456789012:dlq'),
    loaderFunction: lambda.Function.fromFunctionName(stack, 'L', 'loader'),
    deliveryStreamName: 'archive',
    captureClusterName: 'cluster',
    captureServiceName: 'capture',
  };
}
