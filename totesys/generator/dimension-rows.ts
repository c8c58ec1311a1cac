import type { Prng } from '../prng.js';
import { MS_PER_DAY, formatDate, formatTimestamp } from '../source-time.js';
import {
  CITY_PREFIXES, CITY_SUFFIXES, COMPANY_SUFFIXES, COUNTRIES, CURRENCY_CODES, DEPARTMENTS, DESIGN_FOLDERS,
  DESIGN_MATERIALS, DISTRICTS, FILE_SUFFIX_ALPHABET, FIRST_NAMES, HONORIFICS, LAST_NAMES, NAME_SUFFIXES,
  PAYMENT_TYPE_NAMES, STAFF_EMAIL_DOMAIN, STREET_SUFFIXES,
} from './reference-values.js';
import { ADDRESS_COUNT, COUNTERPARTY_COUNT, DIMENSIONS_CREATED_AT, INITIAL_DESIGNS, PEOPLE_CREATED_AT, STAFF_COUNT, type SeedPlan } from './seed-plan.js';
import type { CopyValue } from './copy-text.js';

/**
 * The small, dimension-like tables as plain rows in schema column order (pure: prng in, rows out).
 * Ids are 1..n so foreign keys from the order stream can be drawn as plain integer ranges.
 */
const dimensionsAt = formatTimestamp(DIMENSIONS_CREATED_AT);
const peopleAt = formatTimestamp(PEOPLE_CREATED_AT);

export function addressRows(prng: Prng): CopyValue[][] {
  const rows: CopyValue[][] = [];
  for (let id = 1; id <= ADDRESS_COUNT; id++) {
    const line1 = `${prng.int(1, 99_999)} ${prng.pick(LAST_NAMES)} ${prng.pick(STREET_SUFFIXES)}`;
    const line2 = prng.chance(1 / 3) ? `${prng.pick(FIRST_NAMES)} ${prng.pick(STREET_SUFFIXES)}` : null;
    const district = prng.chance(0.5) ? prng.pick(DISTRICTS) : null;
    const city = `${prng.chance(0.3) ? prng.pick(CITY_PREFIXES) : ''}${prng.pick(FIRST_NAMES)}${prng.pick(CITY_SUFFIXES)}`;
    const zip = String(prng.int(0, 99_999)).padStart(5, '0');
    const postalCode = prng.chance(0.4) ? `${zip}-${String(prng.int(0, 9_999)).padStart(4, '0')}` : zip;
    const phone = `${String(prng.int(0, 9_999)).padStart(4, '0')} ${String(prng.int(0, 999_999)).padStart(6, '0')}`;
    rows.push([id, line1, line2, district, city, postalCode, prng.pick(COUNTRIES), phone, dimensionsAt, dimensionsAt]);
  }
  return rows;
}

function personName(prng: Prng): string {
  const honorific = prng.chance(0.1) ? prng.pick(HONORIFICS) : '';
  const suffix = prng.chance(0.08) ? prng.pick(NAME_SUFFIXES) : '';
  return `${honorific}${prng.pick(FIRST_NAMES)} ${prng.pick(LAST_NAMES)}${suffix}`;
}

export function companyName(prng: Prng): string {
  const pattern = prng.pick(COMPANY_SUFFIXES);
  return prng.pick(LAST_NAMES) + pattern.replace(/\{name\}/g, () => prng.pick(LAST_NAMES));
}

export function counterpartyRows(prng: Prng): CopyValue[][] {
  const rows: CopyValue[][] = [];
  for (let id = 1; id <= COUNTERPARTY_COUNT; id++) {
    rows.push([id, companyName(prng), prng.int(1, ADDRESS_COUNT), personName(prng), personName(prng), peopleAt, peopleAt]);
  }
  return rows;
}

export function currencyRows(): CopyValue[][] {
  return CURRENCY_CODES.map((code, i) => [i + 1, code, dimensionsAt, dimensionsAt]);
}

export function departmentRows(): CopyValue[][] {
  return DEPARTMENTS.map((d, i) => [i + 1, d.name, d.location, d.manager, dimensionsAt, dimensionsAt]);
}

export function paymentTypeRows(): CopyValue[][] {
  return PAYMENT_TYPE_NAMES.map((name, i) => [i + 1, name, dimensionsAt, dimensionsAt]);
}

/** Staff with unique `first.last@terrifictotes.com` addresses, spread over the 8 departments. */
export function staffRows(prng: Prng): CopyValue[][] {
  const rows: CopyValue[][] = [];
  const used = new Set<string>();
  while (rows.length < STAFF_COUNT) {
    const first = prng.pick(FIRST_NAMES);
    const last = prng.pick(LAST_NAMES);
    const email = `${first}.${last}@${STAFF_EMAIL_DOMAIN}`.toLowerCase();
    if (used.has(email)) continue;
    used.add(email);
    rows.push([rows.length + 1, first, last, prng.int(1, DEPARTMENTS.length), email, peopleAt, peopleAt]);
  }
  return rows;
}

/** Designs: a few at launch, the rest arriving during business hours over the whole period. */
export function designCreationTimes(prng: Prng, plan: SeedPlan): number[] {
  const times: number[] = Array.from({ length: INITIAL_DESIGNS }, () => DIMENSIONS_CREATED_AT);
  const cumulative: number[] = [];
  let sum = 0;
  for (const w of plan.windows) cumulative.push((sum += w.weight));
  for (let i = INITIAL_DESIGNS; i < plan.designs; i++) {
    const r = prng.next() * sum;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] > r) hi = mid;
      else lo = mid + 1;
    }
    const w = plan.windows[lo];
    times.push(w.startMs + Math.floor(prng.next() * (w.endMs - w.startMs)));
  }
  return times.sort((a, b) => a - b);
}

const FILE_DATES_FROM = Date.UTC(2020, 10, 24);

export function designRow(prng: Prng, id: number, createdAtMs: number): CopyValue[] {
  const material = prng.pick(DESIGN_MATERIALS);
  const fileDay = FILE_DATES_FROM + prng.int(0, Math.max(0, Math.floor((createdAtMs - FILE_DATES_FROM) / MS_PER_DAY))) * MS_PER_DAY;
  let suffix = '';
  for (let i = 0; i < 4; i++) suffix += FILE_SUFFIX_ALPHABET[prng.int(0, FILE_SUFFIX_ALPHABET.length - 1)];
  const fileName = `${material.toLowerCase()}-${formatDate(fileDay).replace(/-/g, '')}-${suffix}.json`;
  const at = formatTimestamp(createdAtMs);
  return [id, at, at, material, prng.pick(DESIGN_FOLDERS), fileName];
}
