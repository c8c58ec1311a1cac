import { describe, expect, it } from 'vitest';
import { sourceUrlFromEnv } from '../../capture/source-url-from-env.js';
import { ConfigError } from '../../platform/errors.js';

describe('sourceUrlFromEnv (the Fargate task gets the secret as fields)', () => {
  it('prefers an explicit TOTESYS_SOURCE_URL', () => {
    expect(sourceUrlFromEnv({ TOTESYS_SOURCE_URL: 'postgresql://a:b@h/db', TOTESYS_SOURCE_HOST: 'other' })).toBe('postgresql://a:b@h/db');
  });

  it('builds a URL from the RDS secret fields, escaping what needs it', () => {
    const url = sourceUrlFromEnv({
      TOTESYS_SOURCE_HOST: 'totesys.abc.eu-west-2.rds.amazonaws.com',
      TOTESYS_SOURCE_PORT: '5433',
      TOTESYS_SOURCE_DB: 'totesys',
      TOTESYS_SOURCE_USER: 'cdc user',
      TOTESYS_SOURCE_PASSWORD: 'p@ss/w:rd%',
    })!;
    const parsed = new URL(url);
    expect(parsed.hostname).toBe('totesys.abc.eu-west-2.rds.amazonaws.com');
    expect(parsed.port).toBe('5433');
    expect(decodeURIComponent(parsed.username)).toBe('cdc user');
    expect(decodeURIComponent(parsed.password)).toBe('p@ss/w:rd%');
    expect(parsed.pathname).toBe('/totesys');
    expect(url).not.toContain('sslmode');
  });

  it('defaults the port, and says which field is missing', () => {
    expect(new URL(sourceUrlFromEnv({ TOTESYS_SOURCE_HOST: 'h', TOTESYS_SOURCE_DB: 'd', TOTESYS_SOURCE_USER: 'u', TOTESYS_SOURCE_PASSWORD: 'p' })!).port).toBe('5432');
    expect(() => sourceUrlFromEnv({ TOTESYS_SOURCE_HOST: 'h', TOTESYS_SOURCE_DB: 'd' })).toThrow(ConfigError);
    expect(() => sourceUrlFromEnv({ TOTESYS_SOURCE_HOST: 'h', TOTESYS_SOURCE_DB: 'd' })).toThrow(/TOTESYS_SOURCE_USER, TOTESYS_SOURCE_PASSWORD are not/);
    expect(sourceUrlFromEnv({})).toBeUndefined();
  });
});
