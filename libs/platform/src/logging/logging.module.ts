import { DynamicModule, Injectable, MiddlewareConsumer, Module, NestMiddleware, NestModule } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import { CORRELATION_HEADER, currentCorrelationId, withCorrelationId } from './correlation';

type Request = IncomingMessage & { id?: string | number };

/** Gives each HTTP request a correlation id (from the caller's header, or a new one) for its whole async scope. */
@Injectable()
class CorrelationMiddleware implements NestMiddleware {
  use(req: Request, res: ServerResponse, next: () => void): void {
    const header = req.headers[CORRELATION_HEADER];
    const given = req.id !== undefined ? String(req.id) : Array.isArray(header) ? header[0] : header;
    withCorrelationId(given, () => {
      res.setHeader(CORRELATION_HEADER, currentCorrelationId() ?? '');
      next();
    });
  }
}

export interface LoggingOptions {
  service: string;
  level: string;
}

/** JSON logs (pino) where every line names the service and, inside a request or message, its correlation id. */
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
            mixin: () => {
              const correlationId = currentCorrelationId();
              return correlationId ? { correlationId } : {};
            },
            genReqId: (req) => {
              const header = req.headers[CORRELATION_HEADER];
              return currentCorrelationId() ?? (Array.isArray(header) ? header[0] : header) ?? crypto.randomUUID();
            },
            redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["set-cookie"]'],
            autoLogging: {
              ignore: (req) => /^\/(health|metrics)/.test(req.url ?? ''),
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
