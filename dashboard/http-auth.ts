import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Who may read the dashboard's data. With a token: a request must carry it, as
 * `Authorization: Bearer <token>` or `?token=<token>` (EventSource cannot set headers). Without one
 * (only allowed on a loopback address), the Host header must name this machine, so a web page
 * elsewhere cannot reach the local server through DNS rebinding.
 */
export function isAuthorised(headers: IncomingHttpHeaders, url: URL, token: string | undefined): boolean {
  if (token) {
    const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '')?.[1];
    const presented = bearer ?? url.searchParams.get('token');
    return presented !== null && sameSecret(presented, token);
  }
  return isLocalHostHeader(headers.host);
}

export function isLocalHostHeader(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  return name === 'localhost' || name === '[::1]' || /^127(\.\d{1,3}){3}$/.test(name);
}

function sameSecret(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
