import { Args, Context, Field, Float, ID, Int, Mutation, ObjectType, Resolver } from '@nestjs/graphql';
import type { GatewayContext } from '../graphql/context';
import { Cell } from '../notebooks/notebook.models';
import { NotebookExecutions, ranCell } from './notebook-executions';

@ObjectType()
export class ExecutionReport {
  @Field(() => ID)
  notebookId!: string;

  @Field(() => Int, { description: 'The notebook version the run computed from.' })
  notebookVersion!: number;

  @Field(() => [Cell], { description: 'The cells the run reported, in notebook order, each with its fresh output.' })
  cells!: Cell[];

  @Field(() => Float)
  durationMs!: number;
}

@Resolver()
export class ExecutionsResolver {
  constructor(private readonly executions: NotebookExecutions) {}

  @Mutation(() => ExecutionReport, { description: 'Runs every cell now, in dependency order, and returns when all have settled.' })
  runNotebook(@Args('id', { type: () => ID }) notebookId: string, @Context() context: GatewayContext): Promise<ExecutionReport> {
    return this.executions.runNotebook(context, notebookId);
  }

  @Mutation(() => Cell, { description: 'Runs one cell (and what it depends on); its dependents re-run too.' })
  async runCell(
    @Args('notebookId', { type: () => ID }) notebookId: string,
    @Args('cellId', { type: () => ID }) cellId: string,
    @Context() context: GatewayContext,
  ): Promise<Cell> {
    return ranCell(await this.executions.runCell(context, notebookId, cellId), cellId);
  }
}
