// The README's configuration table comes from platform/config.ts SETTINGS (the single declaration).
//   tsx scripts/config-table.ts           prints the table
//   tsx scripts/config-table.ts --check   exits 1, naming the first difference, when README.md differs
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SETTINGS } from '../platform/config.js';

const HEADER = '| flag | environment | meaning |';
const table = [HEADER, '|---|---|---|', ...SETTINGS.map((s) => `| ${s.flag ? `\`${s.flag}\`` : '(environment only)'} | \`${s.env}\` | ${s.description} |`)];

if (!process.argv.includes('--check')) {
  process.stdout.write(`${table.join('\n')}\n`);
} else {
  const readme = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'README.md');
  const lines = readFileSync(readme, 'utf8').split('\n');
  const start = lines.indexOf(HEADER);
  const documented: string[] = [];
  for (let i = start; start >= 0 && i < lines.length && lines[i].startsWith('|'); i++) documented.push(lines[i]);
  const index = table.findIndex((line, i) => documented[i] !== line);
  const extra = documented.length > table.length ? documented[table.length] : undefined;
  if (start < 0 || index >= 0 || extra !== undefined) {
    const detail =
      start < 0
        ? `no table starting with "${HEADER}"`
        : index >= 0
          ? `line ${index + 1} of the table is ${JSON.stringify(documented[index] ?? '(missing)')}, platform/config.ts says ${JSON.stringify(table[index])}`
          : `the table has a row platform/config.ts does not declare: ${JSON.stringify(extra)}`;
    process.stderr.write(`README.md configuration table does not match platform/config.ts SETTINGS: ${detail}; regenerate it with: npx tsx scripts/config-table.ts\n`);
    process.exit(1);
  }
  process.stdout.write(`README.md configuration table matches platform/config.ts (${SETTINGS.length} settings)\n`);
}
