/**
 * The change-event codec: the one module that says what a change event is and owns its JSON text.
 * Capture writes events with it, the stream processor parses them strictly, replay reads archived
 * lines through its fast path and sort-key readers. Its parts (contracts/change-event/):
 *  - event.ts           the event's types, ids, partition key and version order;
 *  - column-value.ts    how a Postgres column's text becomes an event value;
 *  - writer.ts          the canonical JSON text (serializeChangeEvent) and capture's direct writer;
 *  - strict-parse.ts    the contract's definition (zod): validateChangeEvent; parseChangeEvent and
 *                       validateChangeEventFast, the same outcome through the fast path;
 *  - fast-path.ts       the same decision at a fraction of the cost (isChangeEventFast);
 *  - sort-key.ts        the sort key from an event (versionSortKey) or a line's text (lineSortKey);
 *  - canonical-line.ts  the sort key and row span from a line's bytes (readCanonicalKey);
 *  - record-kind.ts     tells change events from other records sharing the stream.
 * docs/event-contract.md describes the contract; test/unit/change-event-codec.test.ts holds the
 * fast readers to the strict one.
 */
export * from './change-event/event.js';
export * from './change-event/column-value.js';
export * from './change-event/writer.js';
export * from './change-event/strict-parse.js';
export * from './change-event/fast-path.js';
export * from './change-event/sort-key.js';
export * from './change-event/canonical-line.js';
export * from './change-event/record-kind.js';
