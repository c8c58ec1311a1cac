import { querySlotStatus, slotLossOf, type SlotStatus } from '../capture/control/slot-status.js';
import { readSnapshotMarker } from '../capture/control/replication-setup.js';
import { encodeEmf, METRIC } from '../platform/metrics.js';

type Queryable = Parameters<typeof querySlotStatus>[0];

/**
 * Slot lag measured from the database side, independently of the capture: the capture publishes
 * the same metric while it runs, but goes silent exactly when it is down, which is when the slot
 * keeps WAL and the source disk fills. Same query as the capture and `status` (capture/control/slot-status.ts).
 */
export interface SlotMeasurement {
  status: SlotStatus;
  /** The EMF line to print, or null when there is nothing to measure (no slot, or a lost one): the alarm then sees missing data, which it treats as breaching. */
  emfLine: string | null;
  /**
   * The slotLost reading (1: the slot the capture had is invalidated or missing, 0: not), printed
   * every run when the publication is known: the SlotLost alarm. The capture recovers on its own
   * (a new snapshot and reconciliation) but someone should know why it happened.
   */
  lostEmfLine: string | null;
}

export async function measureSlot(client: Queryable, slotName: string, now = Date.now(), publicationName?: string): Promise<SlotMeasurement> {
  const status = await querySlotStatus(client, slotName);
  const measurable = status.exists && status.lagBytes !== null && status.walStatus !== 'lost';
  let lostEmfLine: string | null = null;
  if (publicationName) {
    status.lost = slotLossOf(status, await readSnapshotMarker(client, publicationName), slotName);
    lostEmfLine = slotLostEmfLine(slotName, status.lost ? 1 : 0, status.lost ?? null, now);
  }
  return { status, emfLine: measurable ? slotLagEmfLine(slotName, status.lagBytes!, status.active, now) : null, lostEmfLine };
}

/** The slotLost metric (same name and dimension as the capture's detections), with the reason as a property. */
export function slotLostEmfLine(slotName: string, lost: 0 | 1, reason: string | null, now = Date.now()): string {
  return encodeEmf({ dimensions: { SlotName: slotName }, metrics: { [METRIC.slotLost]: lost }, properties: { service: 'slot-monitor', lostReason: reason }, timestampMs: now });
}

/**
 * CloudWatch embedded metric format: the capture's metric name and `SlotName` dimension, so one
 * alarm and one graph cover both producers (the maximum of the two is the truth either way).
 */
export function slotLagEmfLine(slotName: string, lagBytes: number, active: boolean, now = Date.now()): string {
  return encodeEmf({ dimensions: { SlotName: slotName }, metrics: { [METRIC.slotLagBytes]: lagBytes }, properties: { service: 'slot-monitor', slotActive: active }, timestampMs: now });
}
