/** Runs `fn` in one transaction on the client; rolls back on any error and rethrows it. Not for a client with a transaction open. */
export async function inTransaction<T>(client: { query(text: string): Promise<unknown> }, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
