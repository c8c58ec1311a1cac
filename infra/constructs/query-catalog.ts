import { Aws, Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { type ColumnType, WAREHOUSE_MODEL, WAREHOUSE_TABLES, type WarehouseTable } from '../../contracts/warehouse-model.js';

/**
 * Glue (Hive) type of each warehouse column type, matching the Parquet logical types the processor
 * writes (parquet/warehouse-parquet.ts). Hive has no time-of-day type: TIME(ms) columns read as
 * int, milliseconds since midnight.
 */
const GLUE_TYPE: Readonly<Record<ColumnType, string>> = {
  int: 'int',
  bigint: 'bigint',
  text: 'string',
  date: 'date',
  time: 'int',
  money: 'decimal(10,2)',
  boolean: 'boolean',
  timestamptz: 'timestamp',
};

/** First day partition projection enumerates (no processed file is older than the pipeline). */
const PROJECTION_START_DATE = '2020-01-01';

export interface QueryCatalogProps {
  readonly processedBucket: s3.IBucket;
  /** Key prefix of the processed layout (`<prefix><table>/date=YYYY-MM-DD/<batch>.parquet`). @default '' */
  readonly prefix?: string;
  /** @default derived from the stack name (Glue database names are lower case, letters, digits, underscores) */
  readonly databaseName?: string;
}

/**
 * The processed bucket queryable in place: a Glue database with one external table per warehouse
 * table over its Parquet files, partitioned by `date` with partition projection (Athena computes
 * the partitions from the key layout: no crawler, no MSCK REPAIR, nothing to keep in sync).
 * Rows are change versions (facts: one per captured change; dimensions: every version written), as
 * in the files; the warehouse holds the deduplicated current state.
 */
export class QueryCatalog extends Construct {
  readonly database: glue.CfnDatabase;
  readonly databaseName: string;
  readonly tables: Record<WarehouseTable, glue.CfnTable>;

  constructor(scope: Construct, id: string, props: QueryCatalogProps) {
    super(scope, id);
    const prefix = props.prefix ?? '';
    this.databaseName = props.databaseName ?? glueName(`${Stack.of(this).stackName}_processed`);
    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: this.databaseName, description: 'totesys-cdc processed layer: star-schema Parquet written by the stream processor' },
    });
    const tables = {} as Record<WarehouseTable, glue.CfnTable>;
    for (const name of WAREHOUSE_TABLES) {
      const spec = WAREHOUSE_MODEL[name];
      const location = `s3://${props.processedBucket.bucketName}/${prefix}${name}/`;
      const table = new glue.CfnTable(this, `Table-${name}`, {
        catalogId: Aws.ACCOUNT_ID,
        databaseName: this.databaseName,
        tableInput: {
          name,
          description: `${spec.kind} ${name}: change versions as written by the processor`,
          tableType: 'EXTERNAL_TABLE',
          partitionKeys: [{ name: 'date', type: 'string', comment: 'UTC date of the batch\'s latest commit (key segment date=YYYY-MM-DD)' }],
          parameters: {
            classification: 'parquet',
            EXTERNAL: 'TRUE',
            'projection.enabled': 'true',
            'projection.date.type': 'date',
            'projection.date.format': 'yyyy-MM-dd',
            'projection.date.range': `${PROJECTION_START_DATE},NOW`,
            'projection.date.interval': '1',
            'projection.date.interval.unit': 'DAYS',
            'storage.location.template': `${location}date=\${date}/`,
          },
          storageDescriptor: {
            location,
            columns: spec.columns.map((c) => ({ name: c.name, type: GLUE_TYPE[c.type] })),
            inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
            outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
            serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
          },
        },
      });
      table.addResourceDependency(this.database);
      tables[name] = table;
    }
    this.tables = tables;
  }
}

function glueName(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_]+/g, '_').slice(0, 255);
}
