import { Module } from '@nestjs/common';
import { READ_MODEL_PROJECTIONS } from '../read-model/projections';
import { DeadLetterRetry, RETRYABLE_PROJECTIONS } from './dead-letter-retry.service';
import { OpsHandlers } from './ops.handlers';

/** Operations on the running projections (dead-letter retry), answered over NATS. */
@Module({
  providers: [DeadLetterRetry, OpsHandlers, { provide: RETRYABLE_PROJECTIONS, useValue: READ_MODEL_PROJECTIONS }],
})
export class OpsModule {}
