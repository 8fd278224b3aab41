import type { ServiceName } from '@notebooks/testing';
import { measure, round } from '../measure';
import { PLATFORM_SERVICES, startPlatform } from '../platform';
import type { BenchContext, ScenarioResult } from '../scenario';

const SAMPLE_MS = 200;
const SETTLE_MS = 2_000;

/**
 * Resident memory (VmRSS) of each service: idle after start-up, then the peak while `updateCell`
 * runs through the gateway from the largest configured number of workers, one notebook each.
 */
export async function memory(context: BenchContext): Promise<ScenarioResult> {
  const platform = await startPlatform(context);
  try {
    const concurrency = Math.max(...context.concurrencies);
    const notebooks = await platform.createNotebooks(concurrency);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const idle = platform.residentMiB();

    const peak: Partial<Record<ServiceName, number>> = { ...idle };
    const sampler = setInterval(() => {
      for (const [name, mib] of Object.entries(platform.residentMiB()) as [ServiceName, number][]) peak[name] = Math.max(peak[name] ?? 0, mib);
    }, SAMPLE_MS);
    const load = await measure(concurrency, context.limits, async (worker) => {
      const notebook = notebooks[worker];
      if (notebook) await platform.updateCell(notebook.notebookId, notebook.cellId, `x = ${Math.random()}`);
    }).finally(() => clearInterval(sampler));

    const rows = PLATFORM_SERVICES.map((service) => ({
      service,
      'idle RSS MiB': idle[service] ?? 'n/a',
      'under load peak RSS MiB': peak[service] ?? 'n/a',
      'load/idle': idle[service] && peak[service] ? round((peak[service] ?? 0) / (idle[service] ?? 1)) : 'n/a',
    }));
    return {
      title: `resident memory per service: idle, and peak under updateCell load (${concurrency} workers, ${load.perSecond} edits/s for ${load.seconds} s)`,
      rows,
      figures: { idle, peak, load },
    };
  } finally {
    await platform.stop();
  }
}
