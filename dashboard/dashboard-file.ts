import fs from 'node:fs/promises';
import path from 'node:path';
import { readJsonFile, writeFileAtomic } from '../platform/atomic-file.js';
import { isProcessAlive } from '../platform/process-alive.js';

/** Where a running `up` says its dashboard is, so `status --web` finds it (never holds the token). */
export interface DashboardAddress {
  url: string;
  pid: number;
  startedAt: string;
}

function dashboardFile(stateDir: string): string {
  return path.join(stateDir, 'dashboard.json');
}

export async function writeDashboardAddress(stateDir: string, address: DashboardAddress): Promise<void> {
  await fs.mkdir(stateDir, { recursive: true });
  // Rewritten at every start: losing it in a crash only makes `status --web` say no dashboard runs.
  await writeFileAtomic(dashboardFile(stateDir), `${JSON.stringify(address, null, 2)}\n`, { durable: false, mode: 0o600 });
}

export async function removeDashboardAddress(stateDir: string, pid = process.pid): Promise<void> {
  const current = await readJsonFile<DashboardAddress>(dashboardFile(stateDir)).catch(() => undefined);
  if (current?.pid === pid) await fs.rm(dashboardFile(stateDir), { force: true });
}

/** The dashboard of the `up` running on this state directory, or null (none, or it died without cleaning up). */
export async function readDashboardAddress(stateDir: string): Promise<DashboardAddress | null> {
  const address = await readJsonFile<DashboardAddress>(dashboardFile(stateDir)).catch(() => undefined);
  return address && isProcessAlive(address.pid) ? address : null;
}

/** The page's URL with the token, for a person to open (printed on their own terminal only). */
export function pageUrl(url: string, token: string | undefined): string {
  return token ? `${url}?token=${encodeURIComponent(token)}` : url;
}
