import { isLoopbackEndpoint } from '../../platform/aws-endpoint.js';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** The slice of the Kinesis client the adapters use (so tests can wrap it, e.g. to inject faults). */
export type KinesisSender = Pick<KinesisClient, 'send'>;

/**
 * A Kinesis client. In AWS: the default credential chain and regional endpoint. With an `endpoint`
 * (an emulator such as kinesalite): the Node HTTP handler (kinesalite does not speak the default
 * handler's HTTP/2-capable negotiation) and, only when the endpoint is on loopback, dummy static
 * credentials, since emulators need some and there must be no real credentials in code.
 */
export function createKinesisClient(options: { region: string; endpoint?: string }): KinesisClient {
  if (!options.endpoint) return new KinesisClient({ region: options.region });
  return new KinesisClient({
    region: options.region,
    endpoint: options.endpoint,
    requestHandler: new NodeHttpHandler(),
    ...(isLoopbackEndpoint(options.endpoint) ? { credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' } } : {}),
  });
}

export { isLoopbackEndpoint };
