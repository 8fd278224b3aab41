import 'reflect-metadata';
import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { CONFIG_ERROR_EXIT_CODE, ConfigError, loadConfig, type PlatformConfig } from './config/config';
import { acceptCorrelationId, CORRELATION_HEADER } from './logging/correlation';
import { Metrics } from './metrics/metrics';
import { traceHttpRequests } from './tracing/http-tracing';
import { startTracing, tracingStarted, type Tracing } from './tracing/tracing';

/** What a service's `main.ts` hands to {@link runService}. */
export interface ServiceDefinition<C extends PlatformConfig> {
  name: string;
  env: z.ZodType<C>;
  module: (config: C) => DynamicModule;
  /** Larger request bodies are refused with 413 (default 2 MiB). */
  bodyLimitBytes?: number;
}

export interface StartedService<C extends PlatformConfig> {
  app: NestFastifyApplication;
  config: C;
}

/**
 * Validates the environment, builds the service and initialises it (connections, migrations),
 * without listening yet. Throws {@link ConfigError} on a bad environment.
 */
export async function createService<C extends PlatformConfig>(
  definition: ServiceDefinition<C>,
  env: Record<string, string | undefined> = process.env,
): Promise<StartedService<C>> {
  const config = loadConfig(definition.name, definition.env, env);
  const app = await NestFactory.create<NestFastifyApplication>(
    definition.module(config),
    new FastifyAdapter({
      trustProxy: config.TRUST_PROXY,
      bodyLimit: definition.bodyLimitBytes ?? 2 * 1024 * 1024,
      genReqId: (req: { headers: IncomingMessage['headers'] }) => acceptCorrelationId(req.headers[CORRELATION_HEADER]),
    }),
    { bufferLogs: true, abortOnError: false },
  );
  app.useLogger(app.get(Logger));
  const metrics = app.get(Metrics);
  const fastify = app.getHttpAdapter().getInstance();
  if (tracingStarted()) traceHttpRequests(fastify);
  fastify.addHook('onResponse', async (request, reply) => {
    metrics.httpRequestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  await app.init();
  return { app, config };
}

/**
 * Builds the service's providers, which is where its migrations run (under the migrator's lock)
 * and its streams are provisioned, then closes it again: what a migration Job does before a rollout.
 * Nothing starts serving or consuming: the application is never initialised, so no lifecycle hook
 * (projections, handlers) runs — creating it instantiates the providers and nothing more.
 */
async function migrateOnly<C extends PlatformConfig>(definition: ServiceDefinition<C>, config: C): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(definition.module(config), new FastifyAdapter(), { bufferLogs: true, abortOnError: false });
  const logger = app.get(Logger);
  app.useLogger(logger);
  logger.log(`${definition.name}: migrations applied`, 'Bootstrap');
  await app.close();
  process.exit(0);
}

/**
 * A service's whole `main`: fails fast (exit 78) with a message naming each bad variable, starts
 * tracing when an OTLP endpoint is configured, listens on HOST:PORT, and on SIGTERM/SIGINT stops
 * taking work, finishes what is in flight, drains NATS, flushes spans and exits — or exits anyway
 * after SHUTDOWN_TIMEOUT_MS.
 */
export async function runService<C extends PlatformConfig>(definition: ServiceDefinition<C>): Promise<void> {
  let started: StartedService<C>;
  let tracing: Tracing | undefined;
  try {
    // A bad environment stops the process before anything starts.
    const config = loadConfig(definition.name, definition.env, process.env);
    if (config.MIGRATE_ONLY) return await migrateOnly(definition, config);
    tracing = await startTracing(definition.name);
    started = await createService(definition);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(CONFIG_ERROR_EXIT_CODE);
    }
    process.stderr.write(`${definition.name} failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  }
  const { app, config } = started;
  const logger = app.get(Logger);
  await app.listen({ host: config.HOST, port: config.PORT });
  logger.log(`${definition.name} listening on http://${config.HOST}:${config.PORT}`, 'Bootstrap');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received, shutting down`, 'Bootstrap');
    setTimeout(() => {
      logger.error(`shutdown took longer than ${config.SHUTDOWN_TIMEOUT_MS} ms, exiting`, 'Bootstrap');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS).unref();
    app
      .close()
      .then(() => tracing?.shutdown())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error(`shutdown failed: ${String(error)}`, 'Bootstrap');
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  // A fault nothing handled leaves the process in an unknown state: log it and let the orchestrator restart it.
  const fatal = (kind: string) => (error: unknown) => {
    logger.fatal({ err: error }, `${kind}: the process is exiting`, 'Bootstrap');
    process.exit(1);
  };
  process.on('unhandledRejection', fatal('unhandled rejection'));
  process.on('uncaughtException', fatal('uncaught exception'));
}
