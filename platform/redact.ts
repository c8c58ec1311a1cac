/**
 * Secret removal for anything that may be logged or shown: a connection string can carry a secret
 * as `user:password@` in a URL, as a URL parameter (`?password=...`, which pg accepts, and
 * `sslpassword`, the key's passphrase) or as a keyword/value pair (`host=x password=y`, libpq's
 * other spelling, quoted or not). Every form is masked, wherever it sits inside a longer text (an
 * error message that quotes the URL).
 */
const MASK = '***';

/** Parameter names whose value is a secret (or, for sslkey, may point at or inline a private key). */
const SECRET_PARAMS = ['password', 'sslpassword', 'sslkey', 'passwd', 'pass', 'secret', 'token', 'api_key', 'apikey', 'access_key', 'secret_key', 'x-amz-security-token', 'x-amz-signature', 'x-amz-credential'];
const PARAM_NAMES = SECRET_PARAMS.map((name) => name.replace(/[-]/g, '\\-')).join('|');

/** `scheme://user:secret@` (the userinfo ends at the LAST @ before the path: a password may hold '@'). */
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:]*):([^\s/?#]*)@/gi;
/** `?password=x` / `&sslpassword=x` in a URL query. */
const QUERY_PARAM = new RegExp(`([?&;](?:${PARAM_NAMES})=)[^&#\\s'"]*`, 'gi');
/** `password=x`, `password = 'x y'` in a keyword/value connection string. */
const KEYWORD_VALUE = new RegExp(`(^|[\\s,;(])((?:${PARAM_NAMES})\\s*=\\s*)('(?:[^'\\\\]|\\\\.)*'|"(?:[^"\\\\]|\\\\.)*"|[^\\s,;)'"]+)`, 'gi');

/** Masks every secret of a connection string, or of a text quoting one. */
export function redactSecrets(text: string): string {
  if (!text) return text;
  return text
    .replace(URL_USERINFO, (_all, scheme: string, user: string) => `${scheme}${user}:${MASK}@`)
    .replace(QUERY_PARAM, (_all, prefix: string) => `${prefix}${MASK}`)
    .replace(KEYWORD_VALUE, (_all, lead: string, key: string) => `${lead}${key}${MASK}`);
}

/** Cheap test: does this text possibly carry a secret that redactSecrets would mask? */
export function mayCarrySecret(text: string): boolean {
  return text.includes('://') || /(?:pass|secret|token|key|credential|signature)\w*\s*=/i.test(text);
}

/** Removes the password (and every secret-bearing parameter) from a connection URL so it can be logged or shown. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = MASK;
    for (const name of [...parsed.searchParams.keys()]) {
      if (SECRET_PARAMS.includes(name.toLowerCase())) parsed.searchParams.set(name, MASK);
    }
    // URLSearchParams encodes '*': put the mask back as written.
    return redactSecrets(parsed.toString().replaceAll('%2A%2A%2A', MASK));
  } catch {
    return redactSecrets(url);
  }
}

const MAX_ELIDED_TEXT = 400;

/**
 * Elides what may be source data in an error message: quoted strings (`got "secret"`, a JSON
 * parser's excerpt of the bad record) and the value after `got `. Passwords in connection URLs too.
 */
export function withoutValues(text: string): string {
  const elided = text
    .replace(/\/\/([^:/@\s]+):[^@\s]*@/g, '//$1:***@')
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/\bgot (?!"…")[^,;)]+/g, 'got …');
  return elided.length > MAX_ELIDED_TEXT ? `${elided.slice(0, MAX_ELIDED_TEXT - 1)}…` : elided;
}
