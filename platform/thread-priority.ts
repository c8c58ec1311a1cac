import { readlinkSync } from 'node:fs';
import os from 'node:os';

/**
 * Lowers the scheduling priority of the calling thread (a worker thread included) to `niceness`,
 * and returns that thread's id; null where it cannot (not Linux, no /proc). On Linux a thread is
 * a task of its own with its own nice value, and setpriority() given a task id changes that task
 * alone: /proc/thread-self names the calling one. Raising a nice value needs no privilege.
 */
export function lowerThreadPriority(niceness: number): { threadId: number; niceness: number } | null {
  let threadId: number;
  try {
    threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return null;
  }
  if (!Number.isInteger(threadId) || threadId <= 0) return null;
  try {
    if (os.getPriority(threadId) < niceness) os.setPriority(threadId, niceness);
    return { threadId, niceness: os.getPriority(threadId) };
  } catch {
    return null;
  }
}
