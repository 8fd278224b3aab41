/** Who is asking. */
export interface Viewer {
  userId: string;
}

/** What every resolver gets: the authenticated viewer (null when anonymous) and where the request came from. */
export interface GatewayContext {
  viewer: Viewer | null;
  clientAddress: string;
}
