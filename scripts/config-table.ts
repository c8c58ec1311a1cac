// Prints the README's configuration table from platform/config.ts SETTINGS (the single declaration).
import { SETTINGS } from '../platform/config.js';

const rows = SETTINGS.map((s) => `| \`${s.flag}\` | \`${s.env}\` | ${s.description} |`);
process.stdout.write(['| flag | environment | meaning |', '|---|---|---|', ...rows].join('\n') + '\n');
