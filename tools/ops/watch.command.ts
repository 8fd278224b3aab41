import type { OpsContext } from './context';
import { checkHealth, renderHealth } from './health.command';
import { readLag, renderLag } from './lag.command';
import { describeError, paint } from './output';
import { readProjections, renderProjections } from './projections.command';

const CLEAR_SCREEN = '\u001b[2J\u001b[H';

/** Health, projections and lag, redrawn every `intervalMs` until Ctrl-C. */
export async function watchCommand(context: OpsContext, intervalMs: number): Promise<number> {
  const { output, connections, signal } = context;
  const section = async (title: string, render: () => Promise<string>) => {
    let body: string;
    try {
      body = await render();
    } catch (error) {
      body = paint(output, 'red', describeError(error));
    }
    return `${paint(output, 'bold', title)}\n${body}`;
  };
  const stopped = sleep(Infinity, signal).then(() => undefined);
  while (!signal.aborted) {
    const started = Date.now();
    const frame = Promise.all([
      section('HEALTH', async () => renderHealth(output, await checkHealth(connections))),
      section('PROJECTIONS', async () => renderProjections(output, await readProjections(connections))),
      section('CONSUMERS', async () => renderLag(output, await readLag(connections))),
    ]);
    // Ctrl-C does not wait for a server that is slow to answer.
    const sections = await Promise.race([frame, stopped]);
    if (!sections || signal.aborted) break;
    const heading = paint(output, 'dim', `${new Date().toISOString()}  every ${intervalMs / 1000} s, Ctrl-C to stop`);
    output.line(`${output.color ? CLEAR_SCREEN : ''}${heading}\n\n${sections.join('\n\n')}\n`);
    await sleep(Math.max(0, intervalMs - (Date.now() - started)), signal);
  }
  return 0;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
