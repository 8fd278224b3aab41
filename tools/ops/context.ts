import type { Connections, Target } from './connections';
import type { Output } from './output';

/** What every command gets: where the platform is, connections to it, and where to write. */
export interface OpsContext {
  target: Target;
  connections: Connections;
  output: Output;
  /** Aborted on Ctrl-C: long-running commands (watch) stop and clean up. */
  signal: AbortSignal;
}
