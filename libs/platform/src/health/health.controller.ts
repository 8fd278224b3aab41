import { Controller, Get, Inject, Optional } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Kysely, sql } from 'kysely';
import { DATABASE } from '../database/database.module';
import { NATS_CONNECTION } from '../nats/tokens';
import { ReadinessChecks, type ReadinessCheck } from './readiness';

const CHECK_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** `/health/live`: the process answers. `/health/ready`: NATS, JetStream, Postgres and feature checks pass. */
@Controller('health')
export class HealthController {
  private jsm?: JetStreamManager;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly readiness: ReadinessChecks,
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Optional() @Inject(DATABASE) private readonly db?: Kysely<unknown>,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    const checks: [string, ReadinessCheck][] = [['nats', () => this.checkNats()]];
    if (this.db) checks.push(['postgres', () => this.checkPostgres()]);
    checks.push(...this.readiness.entries());
    return this.health.check(checks.map(([name, check]) => () => this.run(name, check)));
  }

  private async run(name: string, check: ReadinessCheck): Promise<HealthIndicatorResult> {
    const session = this.indicators.check(name);
    try {
      return session.up(await withTimeout(check(), name));
    } catch (error) {
      return session.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }

  private async checkNats(): Promise<Record<string, unknown>> {
    if (this.nats.isClosed()) throw new Error('connection closed');
    const rttMs = await this.nats.rtt();
    this.jsm ??= await jetstreamManager(this.nats, { checkAPI: false });
    const account = await this.jsm.getAccountInfo();
    return { server: this.nats.getServer(), rttMs, streams: account.streams };
  }

  private async checkPostgres(): Promise<Record<string, unknown>> {
    const started = performance.now();
    await sql`select 1`.execute(this.db as Kysely<unknown>);
    return { rttMs: Math.round((performance.now() - started) * 100) / 100 };
  }
}
