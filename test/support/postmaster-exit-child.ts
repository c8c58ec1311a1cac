// Starts the embedded Postgres in argv[2], prints its postmaster pid, then leaves without stop():
// process.exit (the path an uncaught error or a second Ctrl-C takes). The test checks the postmaster went too.
import fs from 'node:fs';
import path from 'node:path';
import { silentLogger } from '../../platform/logger.js';
import { startEmbeddedPostgres } from '../../runtime/embedded-postgres.js';

const dataDir = process.argv[2]!;
await startEmbeddedPostgres({ dataDir, logger: silentLogger, settings: { fsync: 'off' } });
process.stdout.write(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0] + '\n');
process.exit(3);
