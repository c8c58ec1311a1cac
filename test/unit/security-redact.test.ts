import { describe, expect, it } from 'vitest';
import { createLogger } from '../../platform/logger.js';
import { redactSecrets, redactUrl } from '../../platform/redact.js';
import { checkReachable } from '../../runtime/databases.js';

const SECRET = 'hunter2-S3cret';

describe('redaction of connection secrets (issue 17 point 5)', () => {
  const cases: [string, string][] = [
    ['user:password@', `postgresql://app:${SECRET}@db.example:5432/totesys`],
    ['password with @ and :', `postgres://app:${SECRET}@x:y@db.example/totesys`],
    ['?password=', `postgresql://app@db.example/totesys?password=${SECRET}`],
    ['&password= after another param', `postgresql://app@db.example/totesys?sslmode=require&password=${SECRET}`],
    ['sslpassword', `postgresql://app@db.example/totesys?sslmode=verify-full&sslpassword=${SECRET}`],
    ['upper-case PASSWORD', `postgresql://app@db.example/totesys?PASSWORD=${SECRET}`],
    ['keyword/value', `host=db.example user=app password=${SECRET} dbname=totesys`],
    ['keyword/value quoted', `host=db.example password='${SECRET} with space' dbname=totesys`],
    ['keyword/value spaced', `host=db.example password = ${SECRET}`],
    ['inside a message', `cannot connect to postgresql://app@db.example/t?password=${SECRET} (--source-url): ECONNREFUSED`],
  ];
  for (const [name, text] of cases) {
    it(`masks ${name}`, () => {
      expect(redactSecrets(text)).not.toContain(SECRET);
      expect(redactSecrets(text)).toContain('***');
      expect(redactUrl(text)).not.toContain(SECRET);
    });
  }

  it('keeps what is not secret', () => {
    expect(redactUrl('postgresql://app@db.example:5432/totesys?sslmode=require')).toBe('postgresql://app@db.example:5432/totesys?sslmode=require');
    expect(redactUrl(`postgresql://app:${SECRET}@db.example/totesys?password=x&sslmode=require`)).toBe('postgresql://app:***@db.example/totesys?password=***&sslmode=require');
  });

  it('the logger masks secrets in strings and error messages', () => {
    const lines: string[] = [];
    const logger = createLogger({ service: 't', level: 'debug', write: (line) => lines.push(line) });
    logger.warn(`failed on postgresql://app@db/t?password=${SECRET}`, { url: `host=x password=${SECRET}`, error: new Error(`connect postgresql://a@b/c?sslpassword=${SECRET}`) });
    expect(lines.join('\n')).not.toContain(SECRET);
  });

  it('a connection error never prints a password given as a URL parameter', async () => {
    // Port 1 on loopback: refused at once.
    const url = `postgresql://app@127.0.0.1:1/totesys?password=${SECRET}`;
    const error = await checkReachable(url, '--source-url').then(() => null, (e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error!.message).toContain('cannot connect to');
    expect(error!.message).not.toContain(SECRET);
  });
});
