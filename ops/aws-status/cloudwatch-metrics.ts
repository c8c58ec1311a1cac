import { GetMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { MetricQuery, MetricSeries } from './metric-queries.js';

export type CloudWatchSender = Pick<CloudWatchClient, 'send'>;

/** GetMetricData for the queries over [start, end]; pages are followed (bounded: 20). */
export async function readMetrics(cloudwatch: CloudWatchSender, queries: readonly MetricQuery[], window: { start: Date; end: Date }): Promise<MetricSeries[]> {
  const series = new Map<string, MetricSeries>(queries.map((q) => [q.id, { id: q.id, timestamps: [], values: [] }]));
  let nextToken: string | undefined;
  for (let page = 0; page < 20; page++) {
    const out = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: window.start,
        EndTime: window.end,
        ScanBy: 'TimestampDescending',
        NextToken: nextToken,
        MetricDataQueries: queries.map((q) => ({
          Id: q.id,
          ReturnData: true,
          MetricStat: {
            Metric: { Namespace: q.namespace, MetricName: q.metricName, Dimensions: Object.entries(q.dimensions).map(([Name, Value]) => ({ Name, Value })) },
            Period: q.periodS,
            Stat: q.stat,
          },
        })),
      }),
    );
    for (const result of out.MetricDataResults ?? []) {
      const s = series.get(result.Id ?? '');
      if (!s) continue;
      s.timestamps.push(...(result.Timestamps ?? []));
      s.values.push(...(result.Values ?? []));
    }
    nextToken = out.NextToken;
    if (!nextToken) break;
  }
  return [...series.values()];
}
