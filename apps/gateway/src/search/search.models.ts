import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import { Notebook } from '../notebooks/notebook.models';

@ObjectType()
export class SearchHit {
  @Field(() => Notebook)
  notebook!: Notebook;

  @Field(() => ID, { nullable: true, description: 'The matching cell, when the match is in a cell.' })
  cellId!: string | null;

  @Field({ description: 'Text around the match, with matches wrapped in <mark>…</mark>.' })
  snippet!: string;

  @Field(() => Float)
  score!: number;
}

@ObjectType()
export class SearchResult {
  @Field(() => [SearchHit])
  hits!: SearchHit[];

  @Field(() => Int)
  total!: number;
}
