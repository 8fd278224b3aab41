/** Injection token of the service's single NATS connection. */
export const NATS_CONNECTION = Symbol('NATS_CONNECTION');

export interface NatsOptions {
  /** Comma-separated server URLs. */
  servers: string;
  /** Connection name shown in the server's monitoring, and the default queue group: the service's name. */
  name: string;
  /** See `qualifySubject`: isolates deployments sharing one NATS. */
  namespace: string;
}
export const NATS_OPTIONS = Symbol('NATS_OPTIONS');
