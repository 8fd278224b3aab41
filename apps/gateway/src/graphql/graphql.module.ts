import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { DynamicModule, Module } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { FastifyRequest } from 'fastify';
import { AuthModule } from '../auth/auth.module';
import { ExecutionsModule } from '../executions/executions.module';
import { NotebooksModule } from '../notebooks/notebooks.module';
import { SearchModule } from '../search/search.module';
import { GatewayContexts, type GatewayContext } from './context';
import { formatError, gatewayError } from './errors';

export interface GraphqlLimits {
  NODE_ENV: string;
  GRAPHQL_MAX_DEPTH: number;
  GRAPHQL_MAX_COST: number;
  GRAPHQL_MAX_ALIASES: number;
}

/** Operations longer than this many tokens are refused before they are parsed further. */
export const GRAPHQL_MAX_TOKENS = 5_000;

/**
 * The limits every GraphQL operation meets, over HTTP (Apollo) and over WebSocket (the
 * subscriptions of `realtime/graphql-ws.server.ts`, which apply the same validation rules).
 */
export function graphqlHardening(limits: GraphqlLimits) {
  const production = limits.NODE_ENV === 'production';
  const armor = new ApolloArmor({
    maxDepth: { n: limits.GRAPHQL_MAX_DEPTH },
    costLimit: { maxCost: limits.GRAPHQL_MAX_COST },
    maxAliases: { n: limits.GRAPHQL_MAX_ALIASES },
    maxDirectives: { n: 20 },
    maxTokens: { n: GRAPHQL_MAX_TOKENS },
    blockFieldSuggestion: { enabled: production },
  }).protect();
  return { production, plugins: armor.plugins, validationRules: armor.validationRules };
}

/** A subscription sent over HTTP is refused: it is served over graphql-ws, on the same path. */
const subscriptionsOverWebSocketOnly: ApolloServerPlugin = {
  requestDidStart: async () => ({
    didResolveOperation: async ({ operation }) => {
      if (operation?.operation === 'subscription') throw gatewayError('BAD_USER_INPUT', 'subscribe over WebSocket (graphql-transport-ws) at /graphql');
    },
  }),
};

/**
 * Apollo Server on `/graphql`, code-first, hardened as DESIGN.md asks: depth, cost, alias, directive
 * and token limits; no batched operations; CSRF prevention; and in production no introspection and
 * no field suggestions. Every request is authenticated here, once, from its bearer token.
 * Subscriptions travel over graphql-ws on the same path (RealtimeModule), under the same limits.
 */
@Module({})
export class GraphqlModule {
  static forRoot(limits: GraphqlLimits): DynamicModule {
    const { production, ...armor } = graphqlHardening(limits);
    return {
      module: GraphqlModule,
      imports: [
        GraphQLModule.forRootAsync<ApolloDriverConfig>({
          driver: ApolloDriver,
          imports: [AuthModule, NotebooksModule, SearchModule, ExecutionsModule],
          inject: [GatewayContexts],
          useFactory: (contexts: GatewayContexts): ApolloDriverConfig => ({
            path: '/graphql',
            autoSchemaFile: true,
            sortSchema: true,
            playground: false,
            introspection: !production,
            hideSchemaDetailsFromClientErrors: production,
            includeStacktraceInErrorResponses: false,
            csrfPrevention: true,
            allowBatchedHttpRequests: false,
            plugins: [...armor.plugins, ApolloServerPluginLandingPageDisabled(), subscriptionsOverWebSocketOnly],
            validationRules: armor.validationRules,
            formatError,
            context: (request: FastifyRequest): Promise<GatewayContext> => contexts.create(request),
          }),
        }),
      ],
    };
  }
}
