/**
 * Ctrl-C / SIGTERM handling for long-running commands: the first signal asks every subscriber to
 * stop gracefully (confirm what is durable, stop Postgres); a second one exits at once.
 */
type Handler = () => void;
const handlers = new Set<Handler>();
let signalled = false;

function onSignal(signal: NodeJS.Signals): void {
  if (signalled) {
    process.stderr.write(`\ntotesys-cdc: second ${signal}, exiting now\n`);
    process.exit(130);
  }
  signalled = true;
  process.stderr.write(`\ntotesys-cdc: ${signal} received, stopping cleanly (again to force)\n`);
  for (const handler of handlers) handler();
}

export function onShutdown(handler: Handler): () => void {
  if (handlers.size === 0) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  handlers.add(handler);
  if (signalled) handler();
  return () => {
    handlers.delete(handler);
    if (handlers.size === 0) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  };
}
