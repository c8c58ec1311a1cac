import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * A Secrets Manager stand-in speaking the real wire protocol (AWS JSON 1.1: POST /, header
 * X-Amz-Target: secretsmanager.GetSecretValue, body {"SecretId": ...}) for the one call the pipeline
 * makes, so tests drive the real @aws-sdk/client-secrets-manager client. Secrets are set by tests
 * (a rotation is `set` with a new value); every request is counted.
 */
export interface SecretsManagerStandIn {
  endpoint: string;
  /** A real SDK client pointed at the stand-in (dummy credentials). */
  client: SecretsManagerClient;
  set(secretId: string, secretString: string): void;
  requests(): number;
  stop(): Promise<void>;
}

export async function startSecretsManagerStandIn(): Promise<SecretsManagerStandIn> {
  const secrets = new Map<string, { value: string; version: number }>();
  let requests = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      requests++;
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(payload));
      };
      if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') return reply(400, { __type: 'UnknownOperationException', message: String(req.headers['x-amz-target']) });
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      const secret = secrets.get(SecretId);
      if (!secret) return reply(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
      reply(200, { ARN: SecretId, Name: SecretId.split(':').pop(), SecretString: secret.value, VersionId: `v${secret.version}`, VersionStages: ['AWSCURRENT'], CreatedDate: Date.now() / 1000 });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new SecretsManagerClient({ endpoint, region: 'eu-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  return {
    endpoint,
    client,
    set(secretId, secretString) {
      secrets.set(secretId, { value: secretString, version: (secrets.get(secretId)?.version ?? 0) + 1 });
    },
    requests: () => requests,
    async stop() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
