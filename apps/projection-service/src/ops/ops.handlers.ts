import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { ProjectionOpsSubjects, RetryDeadLettersRequest } from '@notebooks/contracts';
import { NatsRpc } from '@notebooks/platform';
import { DeadLetterRetry } from './dead-letter-retry.service';

/** projection-service's operations API over NATS, used by `npm run ops`. */
@Injectable()
export class OpsHandlers implements OnApplicationBootstrap {
  constructor(
    private readonly rpc: NatsRpc,
    private readonly retry: DeadLetterRetry,
  ) {}

  onApplicationBootstrap(): void {
    this.rpc.serve(ProjectionOpsSubjects.retryDeadLetters, RetryDeadLettersRequest, (request) => this.retry.retry(request));
  }
}
