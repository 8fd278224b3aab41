import type { ReadLoaders } from '../notebooks/read-loaders';

/** Who is asking. */
export interface Viewer {
  userId: string;
}

/**
 * What every resolver gets: the authenticated viewer (null when anonymous), where the request came
 * from, and this request's batched read-model loaders.
 */
export interface GatewayContext {
  viewer: Viewer | null;
  clientAddress: string;
  loaders: ReadLoaders;
}
