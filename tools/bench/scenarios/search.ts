import { connect } from '@nats-io/transport-node';
import { SearchReply, SearchSubjects } from '@notebooks/contracts';
import { Metrics, NatsRpc } from '@notebooks/platform';
import { startServices } from '@notebooks/testing';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { measure, round, type Measurement } from '../measure';
import type { BenchContext, ScenarioResult } from '../scenario';

const CELLS = 100_000;
const NOTEBOOKS = 2_000;
const OWNERS = 100;
const INSERT_BATCH = 5_000;
const PAGE = 20;

/** Words of the seeded text, most frequent first (picked with a Zipf-like skew). */
const VOCABULARY = `data value function chart table plot model result sample number series time point line color
  scale axis label range count mean error rate test input output filter group sort map reduce array object string
  event state update render view layer shape size width height margin title legend source query index record field
  column row matrix vector angle radius orbit planet star galaxy comet nebula telescope gravity velocity distance
  energy mass force pressure temperature density volume climate ocean river forest mountain desert glacier storm
  rainfall drought harvest population migration economy market price inflation budget revenue profit invoice
  customer supplier warehouse shipment inventory pipeline sensor signal frequency spectrum wavelength amplitude
  voltage current battery circuit motor engine turbine reactor neutron proton electron photon quantum particle
  molecule protein enzyme genome mutation species habitat predator pollination photosynthesis metabolism neuron
  synapse cortex memory learning network gradient descent regression classifier cluster outlier anomaly forecast
  seasonal trend residual smoothing kernel histogram quantile median variance deviation correlation covariance
  probability likelihood posterior bayesian inference hypothesis experiment control placebo cohort survey census
  election ballot district county municipality transit railway highway airport harbor bridge tunnel canal
  archive manuscript library catalogue museum gallery sculpture painting mosaic fresco cathedral monastery castle
  fortress kingdom empire dynasty treaty rebellion revolution parliament constitution tribunal verdict statute`
  .split(/\s+/)
  .filter(Boolean);

/** What people search for: frequent and rare words, several words, a phrase, typos and partial words. */
const QUERIES = [
  'data',
  'value chart',
  'nebula',
  'telescope galaxy',
  '"orbit planet"',
  'photosynthesis',
  'regresion',
  'probabilty',
  'telesc',
  'migrat',
  'cathedral -castle',
  'revenue or profit',
];

/**
 * Search latency through search-service (NATS request, Postgres full-text search with ranking,
 * access filter, trigram term lookup and snippets) next to a naive `ILIKE '%word%'` scan of the
 * same rows with the same access filter and page, sent straight to Postgres, at the same
 * concurrency. The 100,000 cells (2,000 notebooks of 100 owners, a third public) are seeded by a
 * bulk insert straight into the search tables, in a database of their own.
 */
export async function search(context: BenchContext): Promise<ScenarioResult> {
  const database = `bench_search_${randomUUID().slice(0, 8)}`;
  const admin = new Pool({ connectionString: context.databaseUrl, max: 1 });
  await admin.query(`create database ${database}`);
  const url = new URL(context.databaseUrl);
  url.pathname = `/${database}`;
  const namespace = `bench${randomUUID().slice(0, 8)}`;
  const env = { NODE_ENV: 'production', LOG_LEVEL: 'warn', HOST: '127.0.0.1', NATS_URL: context.natsUrl, NATS_NAMESPACE: namespace, DATABASE_URL: url.toString() };
  const services = await startServices(['search-service'], env);
  const connection = await connect({ servers: context.natsUrl, name: 'bench-search' });
  // The same pool size as the service's (DATABASE_POOL_MAX): neither side gets more connections.
  const pool = new Pool({ connectionString: url.toString(), max: 10 });
  try {
    const viewers = await seed(pool);
    const rpc = new NatsRpc(connection, { servers: context.natsUrl, name: 'bench-search', namespace }, new Metrics());
    const pick = () => ({ query: QUERIES[Math.floor(Math.random() * QUERIES.length)] ?? 'data', viewerId: viewers[Math.floor(Math.random() * viewers.length)] ?? null });
    const viaService = async () => {
      const { query, viewerId } = pick();
      SearchReply.parse(await rpc.request(SearchSubjects.search, { query, first: PAGE, viewerId }, { timeoutMs: 30_000 }));
    };
    const viaIlike = async () => {
      const { query, viewerId } = pick();
      await ilikeSearch(pool, query, viewerId);
    };
    for (let i = 0; i < 2 * QUERIES.length; i++) await viaService(); // warm both caches alike
    for (let i = 0; i < 2; i++) await viaIlike();

    const rows: Record<string, string | number>[] = [];
    const figures: Record<string, { search: Measurement; ilike: Measurement; p50Ratio: number }> = {};
    for (const concurrency of context.concurrencies) {
      const searched = await measure(concurrency, context.limits, viaService);
      const scanned = await measure(concurrency, context.limits, viaIlike);
      const p50Ratio = round(scanned.p50Ms / searched.p50Ms);
      figures[`c${concurrency}`] = { search: searched, ilike: scanned, p50Ratio };
      rows.push({
        concurrency,
        'search p50 ms': searched.p50Ms,
        'search p95 ms': searched.p95Ms,
        'search p99 ms': searched.p99Ms,
        'search req/s': searched.perSecond,
        'ILIKE p50 ms': scanned.p50Ms,
        'ILIKE p95 ms': scanned.p95Ms,
        'ILIKE p99 ms': scanned.p99Ms,
        'ILIKE req/s': scanned.perSecond,
        'p50 ILIKE/search': p50Ratio,
      });
    }
    return {
      title:
        `search over ${CELLS.toLocaleString('en')} cells (seeded by bulk insert straight into the search tables) through search-service, ` +
        `vs a naive ILIKE scan of the same rows sent straight to Postgres, same concurrency, ${PAGE} hits a page`,
      rows,
      figures: { cells: CELLS, notebooks: NOTEBOOKS, queries: QUERIES, ...figures },
    };
  } finally {
    await connection.close();
    await services.stop();
    await pool.end();
    await admin.query(`drop database if exists ${database} with (force)`).finally(() => admin.end());
  }
}

/** Fills the search tables as the projection would have, in bulk; returns the owners (the viewers searches run as). */
async function seed(pool: Pool): Promise<string[]> {
  const word = () => VOCABULARY[Math.floor(VOCABULARY.length * Math.random() ** 2.5)] ?? 'data';
  const words = (n: number) => Array.from({ length: n }, word).join(' ');
  const owners = Array.from({ length: OWNERS }, () => randomUUID());
  const notebooks = Array.from({ length: NOTEBOOKS }, (_, i) => ({ id: randomUUID(), owner: owners[i % OWNERS] ?? '', visibility: i % 3 === 0 ? 'PUBLIC' : 'PRIVATE' }));
  await pool.query(
    `insert into search.notebooks (id, owner_id, visibility, version) select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[])`,
    [notebooks.map((n) => n.id), notebooks.map((n) => n.owner), notebooks.map((n) => n.visibility), notebooks.map(() => 1)],
  );
  const sharedWith = notebooks.filter((_, i) => i % 7 === 0);
  await pool.query(`insert into search.collaborators (notebook_id, user_id) select * from unnest($1::uuid[], $2::uuid[])`, [
    sharedWith.map((n) => n.id),
    sharedWith.map((_, i) => owners[(i * 13) % OWNERS] ?? ''),
  ]);
  await pool.query(`insert into search.documents (notebook_id, cell_id, title, description) select n, null, t, d from unnest($1::uuid[], $2::text[], $3::text[]) as x(n, t, d)`, [
    notebooks.map((n) => n.id),
    notebooks.map(() => words(3)),
    notebooks.map(() => `Notes on ${words(8)}`),
  ]);
  const terms = new Set<string>(VOCABULARY);
  for (let start = 0; start < CELLS; start += INSERT_BATCH) {
    const count = Math.min(INSERT_BATCH, CELLS - start);
    const sources = Array.from({ length: count }, (_, i) => {
      const name = `${word()}${(start + i) % 97}`;
      return `// ${words(8 + ((start + i) % 10))}\nconst ${name} = ${word()}(${word()}, ${(start + i) % 1000}) * ${word()}.${word()};`;
    });
    await pool.query(`insert into search.documents (notebook_id, cell_id, source) select * from unnest($1::uuid[], $2::uuid[], $3::text[])`, [
      sources.map((_, i) => notebooks[(start + i) % NOTEBOOKS]?.id ?? ''),
      sources.map(() => randomUUID()),
      sources,
    ]);
  }
  await pool.query(`insert into search.terms (term) select unnest($1::text[]) on conflict do nothing`, [[...terms].sort()]);
  await pool.query('vacuum analyze search.notebooks, search.collaborators, search.documents, search.terms');
  return owners;
}

/**
 * The search anyone would write first: every word somewhere in the title, description or source
 * (`ILIKE '%word%'`, so every row is read), the same access filter, title matches first, one page
 * and the count of all matches.
 */
async function ilikeSearch(pool: Pool, query: string, viewerId: string | null): Promise<void> {
  const words = query.toLowerCase().match(/[a-z0-9]+/g)?.filter((w) => w !== 'or') ?? [];
  const patterns = words.map((w) => `%${w}%`);
  await pool.query(
    `with matches as (
       select d.notebook_id, d.cell_id, coalesce(d.title ilike all($1::text[]), false) as in_title
       from search.documents d join search.notebooks n on n.id = d.notebook_id
       where concat_ws(' ', d.title, d.description, d.source) ilike all($1::text[])
         and not n.deleted
         and (n.visibility = 'PUBLIC' or n.owner_id = $2::uuid
              or exists (select 1 from search.collaborators c where c.notebook_id = n.id and c.user_id = $2::uuid))
     )
     select m.*, (select count(*) from matches) as total from matches m order by in_title desc, notebook_id, cell_id nulls first limit $3`,
    [patterns, viewerId, PAGE],
  );
}
