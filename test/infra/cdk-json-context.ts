import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../infra/repo-paths.js';

/** The context `cdk synth` reads from cdk.json (feature flags included). */
export function cdkJsonContext(): Record<string, unknown> {
  return (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
}
