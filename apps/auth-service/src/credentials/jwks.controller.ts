import { Controller, Get } from '@nestjs/common';
import type { JsonWebKeySet } from '@notebooks/contracts';
import { SigningKeys } from './signing-keys';

/** The public keys over HTTP too, for verifiers outside the NATS network. */
@Controller('.well-known')
export class JwksController {
  constructor(private readonly keys: SigningKeys) {}

  @Get('jwks.json')
  jwks(): JsonWebKeySet {
    return this.keys.jwks;
  }
}
