/** What every scenario gets: where the servers are and how long it may run. */
export interface BenchContext {
  natsUrl: string;
  databaseUrl: string;
  concurrencies: number[];
  limits: { seconds: number; maxOperations: number };
  /** Real-time subscribers to connect (the realtime scenario). */
  subscribers: number;
  /** Edits a second while they listen (the realtime scenario). */
  editsPerSecond: number;
}

export interface ScenarioResult {
  title: string;
  /** One table row per measured setting, each figure beside its reference. */
  rows: Record<string, string | number>[];
  /** Machine-readable figures for the JSON report. */
  figures: Record<string, unknown>;
}

export type Scenario = (context: BenchContext) => Promise<ScenarioResult>;
