import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The command that opens a URL in the person's browser, or null when there is none to open (a
 * server, a container, an SSH session without a display): then the URL is only printed.
 */
export function browserCommand(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, onPath: (program: string) => boolean): string[] | null {
  if (env.BROWSER) return [env.BROWSER];
  if (platform === 'darwin') return ['open'];
  if (platform === 'win32') return ['cmd', '/c', 'start', '""'];
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return null;
  return onPath('xdg-open') ? ['xdg-open'] : null;
}

function isOnPath(program: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, program), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Opens the URL without waiting for the browser; false when no browser is available. */
export function openInBrowser(url: string): boolean {
  const command = browserCommand(process.platform, process.env, (p) => isOnPath(p));
  if (!command) return false;
  const child = spawn(command[0], [...command.slice(1), url], { detached: true, stdio: 'ignore' });
  child.on('error', () => undefined); // a missing or broken browser command: the URL is printed anyway
  child.unref();
  return true;
}
