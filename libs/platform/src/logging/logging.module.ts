import { DynamicModule, Injectable, MiddlewareConsumer, Module, NestMiddleware, NestModule } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { CORRELATION_HEADER, currentCorrelationId, withCorrelationId } from './correlation';

type Request = IncomingMessage & { id?: string | number; originalUrl?: string };

/** Runs each HTTP request in the async scope of its id (set by the HTTP adapter from the caller's header, or new). */
@Injectable()
class CorrelationMiddleware implements NestMiddleware {
  use(req: Request, res: ServerResponse, next: () => void): void {
    withCorrelationId(req.id === undefined ? undefined : String(req.id), () => {
      res.setHeader(CORRELATION_HEADER, currentCorrelationId() ?? '');
      next();
    });
  }
}

export interface LoggingOptions {
  service: string;
  level: string;
}

/** The correlation id, and the trace and span ids while a span is active (tracing on), of the current request or message. */
function logContext(): Record<string, string> {
  const fields: Record<string, string> = {};
  const correlationId = currentCorrelationId();
  if (correlationId) fields['correlationId'] = correlationId;
  const span = trace.getActiveSpan()?.spanContext();
  if (span && isSpanContextValid(span)) {
    fields['traceId'] = span.traceId;
    fields['spanId'] = span.spanId;
  }
  return fields;
}

/**
 * JSON logs (pino) where every line names the service and, inside a request or message, its
 * correlation id — and its trace id when tracing is on.
 */
@Module({})
export class LoggingModule implements NestModule {
  static forRoot(options: LoggingOptions): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: options.level,
            base: { service: options.service },
            messageKey: 'msg',
            mixin: logContext,
            genReqId: (req) => (req as Request).id ?? currentCorrelationId() ?? crypto.randomUUID(),
            redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["set-cookie"]'],
            autoLogging: {
              // The HTTP adapter's middleware layer rewrites `url`; `originalUrl` is what was asked.
              ignore: (req) => /^\/(health|metrics)/.test((req as Request).originalUrl ?? req.url ?? ''),
            },
          },
        }),
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(CorrelationMiddleware).forRoutes('*path');
  }
}
