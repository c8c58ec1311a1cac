/**
 * Metric names, one namespace for every component: CloudWatch in AWS (embedded metric format), the
 * Prometheus text on the dashboard's `/metrics` locally. The CDK dashboard and alarms refer to these
 * same names, so renaming one here renames it everywhere.
 */
export const METRICS_NAMESPACE = 'TotesysCdc';

export const METRIC = {
  // source (the local workload simulator)
  sourceChanges: 'sourceChanges',
  // capture
  eventsPublished: 'eventsPublished',
  slotLagBytes: 'slotLagBytes',
  /** 1 for the slot's current wal_status (a `walStatus` dimension), so a change of state is visible. */
  slotWalStatus: 'slotWalStatus',
  /** A lost replication slot: the capture's detections (count), the slot monitor's reading (1 lost, 0 not). */
  slotLost: 'slotLost',
  confirmedLsnLagMs: 'confirmedLsnLagMs',
  sinkLatencyMs: 'sinkLatencyMs',
  captureHeartbeat: 'captureHeartbeat',
  // stream
  consumerLagRecords: 'consumerLagRecords',
  consumerLagAgeMs: 'consumerLagAgeMs',
  // stream processor
  eventsProcessed: 'eventsProcessed',
  eventsQuarantined: 'eventsQuarantined',
  batchDurationMs: 'batchDurationMs',
  // loader
  manifestsLoaded: 'manifestsLoaded',
  rowsLoaded: 'rowsLoaded',
  loaderFailures: 'loaderFailures',
  warehouseFreshnessMs: 'warehouseFreshnessMs',
  /** now − the watermark "the warehouse holds every change committed up to T" (capture heartbeats carried through every stage). */
  warehouseWatermarkAgeMs: 'warehouseWatermarkAgeMs',
  warehouseRows: 'warehouseRows',
  // archive and replay
  eventsArchived: 'eventsArchived',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

export type MetricUnit = 'Count' | 'Bytes' | 'Milliseconds';

/** The CloudWatch unit of each metric (EMF declares it; Prometheus puts it in the help text). */
export const METRIC_UNITS: Readonly<Record<MetricName, MetricUnit>> = {
  sourceChanges: 'Count',
  eventsPublished: 'Count',
  slotLagBytes: 'Bytes',
  slotWalStatus: 'Count',
  slotLost: 'Count',
  confirmedLsnLagMs: 'Milliseconds',
  sinkLatencyMs: 'Milliseconds',
  captureHeartbeat: 'Count',
  consumerLagRecords: 'Count',
  consumerLagAgeMs: 'Milliseconds',
  eventsProcessed: 'Count',
  eventsQuarantined: 'Count',
  batchDurationMs: 'Milliseconds',
  manifestsLoaded: 'Count',
  rowsLoaded: 'Count',
  loaderFailures: 'Count',
  warehouseFreshnessMs: 'Milliseconds',
  warehouseWatermarkAgeMs: 'Milliseconds',
  warehouseRows: 'Count',
  eventsArchived: 'Count',
};

/** One line of help per metric, for the Prometheus `# HELP` lines. */
export const METRIC_HELP: Readonly<Record<MetricName, string>> = {
  sourceChanges: 'changes the workload simulator made to totesys',
  eventsPublished: 'change events the capture published to the stream',
  slotLagBytes: 'WAL the replication slot holds back (bytes)',
  slotWalStatus: '1 for the replication slot current wal_status',
  slotLost: 'replication slot found lost (invalidated, dropped, or missing after a restore or failover)',
  confirmedLsnLagMs: 'time since the capture last confirmed an LSN to Postgres',
  sinkLatencyMs: 'stream write latency of the capture (moving average)',
  captureHeartbeat: 'capture status reports',
  consumerLagRecords: 'stream records a consumer has not read yet',
  consumerLagAgeMs: 'age of the oldest record a consumer has not read yet',
  eventsProcessed: 'change events the stream processor turned into warehouse rows',
  eventsQuarantined: 'events or records quarantined as bad input',
  batchDurationMs: 'duration of the last stream processor batch',
  manifestsLoaded: 'processed batches loaded into the warehouse',
  rowsLoaded: 'rows loaded into the warehouse',
  loaderFailures: 'batches the loader failed to load',
  warehouseFreshnessMs: 'now minus the newest commit the warehouse holds',
  warehouseWatermarkAgeMs: 'now minus the watermark up to which the warehouse holds every change',
  warehouseRows: 'rows in a warehouse table',
  eventsArchived: 'change events archived to the ingestion bucket',
};
