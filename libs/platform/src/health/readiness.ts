import { Injectable } from '@nestjs/common';

/** A readiness check resolves with details when healthy and throws (with a reason) when not. */
export type ReadinessCheck = () => Promise<Record<string, unknown>>;

/** Features add what their readiness depends on (e.g. a consumer's state) next to NATS and Postgres. */
@Injectable()
export class ReadinessChecks {
  private readonly checks = new Map<string, ReadinessCheck>();

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  entries(): [string, ReadinessCheck][] {
    return [...this.checks];
  }
}
