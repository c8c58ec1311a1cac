/**
 * Metric names, one namespace for every component (CloudWatch in AWS via embedded metric format,
 * the local status file otherwise). The CDK dashboard and alarms refer to these same names.
 */
export const METRICS_NAMESPACE = 'TotesysCdc';

export const METRIC = {
  // capture
  eventsPublished: 'eventsPublished',
  slotLagBytes: 'slotLagBytes',
  confirmedLsnLagMs: 'confirmedLsnLagMs',
  sinkLatencyMs: 'sinkLatencyMs',
  captureHeartbeat: 'captureHeartbeat',
  // stream processor
  eventsProcessed: 'eventsProcessed',
  eventsQuarantined: 'eventsQuarantined',
  // loader
  manifestsLoaded: 'manifestsLoaded',
  rowsLoaded: 'rowsLoaded',
  loaderFailures: 'loaderFailures',
  warehouseFreshnessMs: 'warehouseFreshnessMs',
  /** now − the watermark "the warehouse holds every change committed up to T" (capture heartbeats carried through every stage). */
  warehouseWatermarkAgeMs: 'warehouseWatermarkAgeMs',
  // archive and replay
  eventsArchived: 'eventsArchived',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];
