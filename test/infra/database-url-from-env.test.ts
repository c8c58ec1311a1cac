import { describe, expect, it } from 'vitest';
import { databaseUrlFromEnv, databaseUrlsFromFields } from '../../infra/image/database-url-from-env.js';

describe('databaseUrlFromEnv (the operations task: secret fields → connection URL)', () => {
  it('encodes every field and leaves TLS to PGSSLMODE', () => {
    const env = { TOTESYS_WAREHOUSE_HOST: 'wh.abc.eu-west-2.rds.amazonaws.com', TOTESYS_WAREHOUSE_PORT: '5433', TOTESYS_WAREHOUSE_DB: 'ware house', TOTESYS_WAREHOUSE_USER: 'load@er', TOTESYS_WAREHOUSE_PASSWORD: 'p:a/s?s#w%rd' };
    const url = new URL(databaseUrlFromEnv('TOTESYS_WAREHOUSE', env)!);
    expect(url.hostname).toBe('wh.abc.eu-west-2.rds.amazonaws.com');
    expect(url.port).toBe('5433');
    expect(decodeURIComponent(url.pathname.slice(1))).toBe('ware house');
    expect(decodeURIComponent(url.username)).toBe('load@er');
    expect(decodeURIComponent(url.password)).toBe('p:a/s?s#w%rd');
    expect(url.search).toBe('');
  });

  it('is undefined without a host, and names the missing fields without echoing values', () => {
    expect(databaseUrlFromEnv('TOTESYS_SOURCE', {})).toBeUndefined();
    expect(() => databaseUrlFromEnv('TOTESYS_SOURCE', { TOTESYS_SOURCE_HOST: 'h', TOTESYS_SOURCE_PASSWORD: 'hunter2' })).toThrow('TOTESYS_SOURCE_HOST is set but TOTESYS_SOURCE_DB, TOTESYS_SOURCE_USER are not');
    expect(() => databaseUrlFromEnv('TOTESYS_SOURCE', { TOTESYS_SOURCE_HOST: 'h', TOTESYS_SOURCE_DB: 'd', TOTESYS_SOURCE_USER: 'u', TOTESYS_SOURCE_PASSWORD: 'p', TOTESYS_SOURCE_PORT: 'x' })).toThrow(/PORT must be a port number/);
  });

  it('sets both URLs from their fields, never overriding a URL given explicitly', () => {
    const env: Record<string, string | undefined> = {
      TOTESYS_SOURCE_URL: 'postgresql://explicit/db',
      TOTESYS_SOURCE_HOST: 'ignored',
      TOTESYS_WAREHOUSE_HOST: 'wh',
      TOTESYS_WAREHOUSE_DB: 'w',
      TOTESYS_WAREHOUSE_USER: 'u',
      TOTESYS_WAREHOUSE_PASSWORD: 'p',
    };
    databaseUrlsFromFields(env);
    expect(env.TOTESYS_SOURCE_URL).toBe('postgresql://explicit/db');
    expect(env.TOTESYS_WAREHOUSE_URL).toBe('postgresql://u:p@wh:5432/w');
  });
});
