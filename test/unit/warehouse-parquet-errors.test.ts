import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeWarehouseParquet, WarehouseValueError } from '../../parquet/warehouse-parquet.js';
import { failureCasesByTarget, failureOf, firstFailureCases, type EncodeFailure, type FailureCase } from '../support/warehouse-parquet-cases.js';
import { variedRows } from '../support/warehouse-row-variety.js';

/**
 * Bad values must fail exactly as they did with the row-object encoder (v1): same error name, same
 * message (table, column, reason, the value), and with several bad values the same one reported.
 * v1's failures are pinned in test/fixtures/warehouse-parquet-v1/pins.json.
 */
const pinned = (JSON.parse(fs.readFileSync(new URL('../fixtures/warehouse-parquet-v1/pins.json', import.meta.url), 'utf8')) as { failures: Record<string, EncodeFailure> }).failures;

function expectSameFailure({ key, table, rows }: FailureCase): void {
  expect(pinned[key], key).toBeDefined();
  expect({ key, failure: failureOf(() => encodeWarehouseParquet(table, rows)) }).toEqual({ key, failure: pinned[key] });
}

describe('columnar warehouse Parquet encoder: validation errors unchanged', () => {
  for (const { target, cases } of failureCasesByTarget()) {
    it(`${target} rejects bad values as before`, () => {
      for (const failure of cases) expectSameFailure(failure);
      expect(cases.length).toBeGreaterThan(4);
    });
  }

  it('reports the same first failure when several values are bad (columns in model order, then rows)', () => {
    for (const failure of firstFailureCases()) expectSameFailure(failure);
  });

  it('throws WarehouseValueError, permanent, naming table and column', () => {
    const row = variedRows('fact_payment', 1, { seed: 4, edgeShare: 0 })[0];
    let caught: unknown;
    try {
      encodeWarehouseParquet('fact_payment', [{ ...row, payment_date: '2022-02-30' }]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(WarehouseValueError);
    expect(caught).toMatchObject({ table: 'fact_payment', column: 'payment_date', retryable: false, message: 'fact_payment.payment_date: not a calendar date (got "2022-02-30")' });
  });
});
