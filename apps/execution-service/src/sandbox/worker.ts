/**
 * A sandbox worker: a child process of execution-service that runs notebooks in QuickJS, one at a
 * time. It is started without the service's environment (no secrets, no connection strings) and,
 * where Node supports it, under Node's permission model (read-only files, no child processes).
 * It exits after a run that was cut off, and its parent replaces it.
 */
import { setObservableRuntimeSource } from './runtime-source';
import type { ToWorker } from './protocol';
import { failAll, quickJs, runInSandbox } from './sandbox';

function send(message: unknown): Promise<void> {
  return new Promise((resolve, reject) => process.send?.(message, (error: Error | null) => (error ? reject(error) : resolve())));
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('the sandbox worker must be started with an IPC channel');
  await quickJs();
  let running = Promise.resolve();
  process.on('message', (message: ToWorker) => {
    if (message.type === 'init') {
      setObservableRuntimeSource(message.runtimeSource);
      void send({ type: 'ready' });
      return;
    }
    running = running.then(async () => {
      const outcome = await runInSandbox(message.request).catch((error: unknown) => ({
        results: failAll(message.request.observe, 'ERROR', `the sandbox failed: ${error instanceof Error ? error.message : String(error)}`),
        reusable: false,
      }));
      await send({ type: 'result', runId: message.runId, ...outcome });
      if (!outcome.reusable) process.exit(0);
    });
  });
  // The parent going away (or closing the channel) ends the worker.
  process.on('disconnect', () => process.exit(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`sandbox worker failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
