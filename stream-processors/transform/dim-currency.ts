import type { ChangeEvent } from '../../contracts/change-event.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { currencyName } from './iso-4217.js';
import { optionalText, requiredInt } from './source-values.js';
import { copiedDimensionRow } from './versioned-row.js';

/** currency change → dim_currency, named from the ISO 4217 table; an unknown code gets a null name. */
export function dimCurrencyRow(event: ChangeEvent, onUnknownCode: (code: string) => void = () => {}): WarehouseRow {
  return copiedDimensionRow(event, 'dim_currency', (src) => {
    const code = optionalText(src, 'currency_code');
    const name = code === null ? null : currencyName(code);
    if (code !== null && name === null) onUnknownCode(code);
    return { currency_id: requiredInt(src, 'currency_id'), currency_code: code, currency_name: name };
  });
}
