import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * No CloudWatch emulator exists, so GetMetricData is answered from a response in CloudWatch's wire
 * format (AWS JSON 1.0, X-Amz-Target GraniteServiceVersion20100801.GetMetricData; timestamps in epoch
 * seconds), hand-written in that format in ./recorded/cloudwatch-get-metric-data.json: datapoints for
 * the minutes before RECORDED_AT. Only the requested query ids are returned, as CloudWatch does.
 * Requests are kept so tests can check the namespaces and dimensions asked for.
 */
export const RECORDED_AT = Date.parse('2026-12-07T01:00:00.000Z');

export interface CloudWatchReplay {
  endpoint: string;
  requests: Array<{ target: string; body: Record<string, unknown> }>;
  stop(): Promise<void>;
}

export async function startCloudWatchReplay(): Promise<CloudWatchReplay> {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'recorded/cloudwatch-get-metric-data.json');
  const recorded = JSON.parse(await fs.readFile(file, 'utf8')) as { MetricDataResults: Array<{ Id: string }>; Messages: unknown[] };
  const requests: CloudWatchReplay['requests'] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target']);
      const body = JSON.parse(text || '{}') as { MetricDataQueries?: Array<{ Id: string }> };
      requests.push({ target, body });
      res.setHeader('content-type', 'application/x-amz-json-1.0');
      if (target !== 'GraniteServiceVersion20100801.GetMetricData') {
        res.statusCode = 400;
        return res.end(JSON.stringify({ __type: 'InvalidAction', message: `not recorded: ${target}` }));
      }
      const ids = new Set((body.MetricDataQueries ?? []).map((q) => q.Id));
      res.end(JSON.stringify({ MetricDataResults: recorded.MetricDataResults.filter((r) => ids.has(r.Id)), Messages: recorded.Messages }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
