import type { ScenarioResult } from '../scenario';

/** Cell execution has no implementation yet (execution-service is a shell): a row says so, nothing fails. */
export async function execution(): Promise<ScenarioResult> {
  const status = 'not measured: execution-service does not execute cells yet';
  return { title: 'cell execution', rows: [{ scenario: 'execution', status }], figures: { status } };
}
