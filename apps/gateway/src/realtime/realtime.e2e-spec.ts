import { JetStreamEventStore } from '@notebooks/event-store';
import { createTestInfra, startServices, type RunningServices, type TestInfra } from '@notebooks/testing';
import { randomUUID } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import { CloseCode } from 'graphql-ws';
import request from 'supertest';
import WebSocket from 'ws';
import { errorCode } from '../../test/graphql-client';
import { NotebooksClient, type TestUser } from '../../test/notebooks-client';
import { RealtimeClient, SseClient, type Subscribed } from '../../test/realtime-clients';

interface EventView {
  version: number;
  type: string;
  occurredAt: string;
  actor: { id: string } | null;
  data: Record<string, unknown>;
}

const EVENTS = `subscription($id: ID!, $after: Int) { notebookEvents(notebookId: $id, afterVersion: $after) { notebookId version type occurredAt actor { id } data } }`;
const HISTORY = `query($id: ID!, $v: Int) { notebook(id: $id, minVersion: $v) { history(first: 100) { notebookId version type occurredAt actor { id } data } } }`;
const OUTPUTS = `subscription($id: ID!) { cellOutputs(notebookId: $id) { id value output { status display value error durationMs notebookVersion executedAt } } }`;

const versions = (subscribed: Subscribed<{ notebookEvents: EventView }>) => subscribed.data.map((data) => data.notebookEvents.version);
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

describe('real time through the gateway', () => {
  let infra: TestInfra;
  let services: RunningServices;
  let gateway: string;
  let api: NotebooksClient;
  let ada: TestUser;
  let bob: TestUser;
  const clients: RealtimeClient[] = [];

  const connect = (user: TestUser | null, token = user?.token ?? null) => {
    const client = new RealtimeClient(gateway, token);
    clients.push(client);
    return client;
  };
  const updateCell = async (as: TestUser, notebookId: string, cellId: string, value: string) => {
    const change = await api.run<{ updateCell: { version: number } }>(
      as,
      'mutation($id: ID!, $cell: ID!, $value: String!) { updateCell(notebookId: $id, cellId: $cell, input: { value: $value }) { version } }',
      { id: notebookId, cell: cellId, value },
    );
    if (!change.data) throw new Error(JSON.stringify(change.errors));
    return change.data.updateCell.version;
  };
  const notebookWithCell = async (visibility: 'PRIVATE' | 'PUBLIC' = 'PRIVATE') => {
    const { notebookId } = await api.createNotebook(ada, { title: 'Live', visibility });
    const { cellId, version } = await api.addCell(ada, notebookId, { value: 'x = 0' });
    return { notebookId, cellId: cellId ?? '', version };
  };

  beforeAll(async () => {
    infra = await createTestInfra();
    services = await startServices(['auth-service', 'notebook-service', 'projection-service', 'gateway'], infra.serviceEnv(), {
      'auth-service': { REGISTER_MAX_PER_ADDRESS: '1000' },
      'notebook-service': { SHARE_LOOKUPS_PER_HOUR: '1000' },
      // Small enough for a paused client to overflow soon, large enough for every other subscriber here.
      gateway: { REALTIME_MAX_QUEUED_EVENTS: '50' },
    });
    gateway = services.url('gateway');
    api = new NotebooksClient(gateway);
    [ada, bob] = await Promise.all([api.register('Ada'), api.register('Bob')]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await services?.stop();
    await infra.dispose();
  });

  describe('GraphQL subscriptions over graphql-ws', () => {
    it('replays the events after afterVersion, then streams live ones, in order, with no gap and no duplicate while edits keep coming', async () => {
      const { notebookId, cellId } = await notebookWithCell();
      for (let i = 1; i <= 5; i++) await updateCell(ada, notebookId, cellId, `x = ${i}`);
      let editing = true;
      let last = 0;
      const edits = (async () => {
        for (let i = 6; editing || i <= 12; i++) last = await updateCell(ada, notebookId, cellId, `x = ${i}`);
      })();
      // Subscribers join at different moments of the edits, each from another point of the past.
      const subscribers: { after: number; subscribed: Subscribed<{ notebookEvents: EventView }> }[] = [];
      for (const after of [0, 3, 7, 9]) {
        subscribers.push({ after, subscribed: connect(ada).subscribe(EVENTS, { id: notebookId, after }) });
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      const fromNow = connect(ada).subscribe<{ notebookEvents: EventView }>(EVENTS, { id: notebookId });
      await new Promise((resolve) => setTimeout(resolve, 100));
      editing = false;
      await edits;
      for (const { subscribed } of subscribers) await subscribed.until((s) => versions(s).at(-1) === last);
      await fromNow.until((s) => versions(s).at(-1) === last);

      for (const { after, subscribed } of subscribers) expect(versions(subscribed)).toEqual(range(after + 1, last));
      const live = versions(fromNow);
      expect(live).toEqual(range(live[0] ?? 0, last));
      // An event looks exactly as the history entry of the same version.
      const history = await api.run<{ notebook: { history: EventView[] } }>(ada, HISTORY, { id: notebookId, v: last });
      expect(history.data?.notebook.history).toHaveLength(last);
      expect(subscribers[0]?.subscribed.data.map((data) => data.notebookEvents)).toEqual(history.data?.notebook.history);
    });

    it('resumes after a disconnect from afterVersion without a gap', async () => {
      const { notebookId, cellId } = await notebookWithCell();
      const first = connect(ada);
      const before = first.subscribe<{ notebookEvents: EventView }>(EVENTS, { id: notebookId, after: 0 });
      const two = await updateCell(ada, notebookId, cellId, 'x = 1');
      await before.until((s) => versions(s).includes(two));
      await first.dispose();
      const received = versions(before).at(-1) ?? 0;

      for (let i = 2; i <= 4; i++) await updateCell(ada, notebookId, cellId, `x = ${i}`);
      const after = connect(ada).subscribe<{ notebookEvents: EventView }>(EVENTS, { id: notebookId, after: received });
      const last = await updateCell(ada, notebookId, cellId, 'x = 5');
      await after.until((s) => versions(s).includes(last));

      expect([...versions(before), ...versions(after)]).toEqual(range(1, last));
    });

    it('answers NOT_FOUND for a notebook the caller may not see, exactly as for a missing one', async () => {
      const { notebookId: hidden } = await notebookWithCell('PRIVATE');
      const { notebookId: open } = await notebookWithCell('PUBLIC');
      const client = connect(bob);
      const outcomes = [hidden, randomUUID(), 'not-an-id'].map((id) => client.subscribe<{ notebookEvents: EventView }>(EVENTS, { id, after: 0 }));
      const outputs = client.subscribe(OUTPUTS, { id: hidden });
      const readable = client.subscribe<{ notebookEvents: EventView }>(EVENTS, { id: open, after: 0 });
      for (const subscribed of [...outcomes, outputs]) await subscribed.until((s) => s.ended);
      await readable.until((s) => s.data.length === 2);

      expect(outcomes.map((s) => ({ code: s.errorCode, data: s.data }))).toEqual(Array(3).fill({ code: 'NOT_FOUND', data: [] }));
      expect(outcomes.map((s) => JSON.stringify(s.results[0]?.errors?.[0]?.message))).toEqual(Array(3).fill(JSON.stringify('notebook not found')));
      expect(outputs.errorCode).toBe('NOT_FOUND');
      expect(readable.error).toBeUndefined();
    });

    it('refuses a connection without a valid access token', async () => {
      for (const token of [null, 'not-a-token', `${ada.token.slice(0, -4)}AAAA`]) {
        const client = connect(null, token);
        const subscribed = client.subscribe(EVENTS, { id: randomUUID() });
        expect(await client.closed).toEqual({ code: CloseCode.Unauthorized, reason: expect.stringMatching(/^Unauthorized/) });
        await subscribed.until((s) => s.ended);
        expect(subscribed.data).toEqual([]);
      }
    });

    describe('when the caller loses access, ends the stream with NOT_FOUND within a second', () => {
      const revoke = async (setup: (notebookId: string) => Promise<void>, take: (notebookId: string) => Promise<unknown>, as: () => TestUser) => {
        const { notebookId } = await notebookWithCell();
        await setup(notebookId);
        const subscribed = connect(as()).subscribe<{ notebookEvents: EventView }>(EVENTS, { id: notebookId });
        const outputs = connect(as()).subscribe(OUTPUTS, { id: notebookId });
        await new Promise((resolve) => setTimeout(resolve, 200)); // both are live
        await take(notebookId);
        const taken = Date.now();
        await subscribed.until((s) => s.ended, 1_000);
        await outputs.until((s) => s.ended, 1_000);
        return { subscribed, outputs, within: Date.now() - taken };
      };

      it('on unsharing', async () => {
        const { subscribed, outputs, within } = await revoke(
          async (id) => void (await api.share(ada, id, bob.email, 'VIEWER')),
          (id) => api.run(ada, 'mutation($id: ID!, $user: ID!) { unshareNotebook(id: $id, userId: $user) { version } }', { id, user: bob.id }),
          () => bob,
        );
        expect({ events: subscribed.errorCode, outputs: outputs.errorCode }).toEqual({ events: 'NOT_FOUND', outputs: 'NOT_FOUND' });
        expect(within).toBeLessThan(1_000);
      });

      it('when a public notebook becomes private', async () => {
        const { subscribed } = await revoke(
          (id) => api.run(ada, 'mutation($id: ID!) { updateNotebook(id: $id, input: { visibility: PUBLIC }) { version } }', { id }).then(() => undefined),
          (id) => api.run(ada, 'mutation($id: ID!) { updateNotebook(id: $id, input: { visibility: PRIVATE }) { version } }', { id }),
          () => bob,
        );
        expect(subscribed.errorCode).toBe('NOT_FOUND');
        expect(subscribed.data.map((data) => data.notebookEvents.type)).not.toContain('notebook.updated');
      });

      it('when the notebook is deleted, for its owner too', async () => {
        const { subscribed } = await revoke(
          async () => undefined,
          (id) => api.run(ada, 'mutation($id: ID!) { deleteNotebook(id: $id) }', { id }),
          () => ada,
        );
        expect(subscribed.errorCode).toBe('NOT_FOUND');
      });
    });

    it('closes the socket with 4403 when the access token expires', async () => {
      const token = await shortLivedToken(infra, bob.id, 2);
      const client = connect(null, token);
      const { notebookId } = await notebookWithCell('PUBLIC');
      const subscribed = client.subscribe<{ notebookEvents: EventView }>(EVENTS, { id: notebookId, after: 0 });
      await subscribed.until((s) => s.data.length === 2);
      const closed = await client.closed;

      expect(closed).toEqual({ code: CloseCode.Forbidden, reason: 'Forbidden: the access token expired' });
      const expired = connect(null, token);
      expired.subscribe(EVENTS, { id: notebookId });
      expect((await expired.closed).code).toBe(CloseCode.Forbidden);
    });

    it('streams execution results as the cells they belong to', async () => {
      const { notebookId, cellId, version } = await notebookWithCell();
      const subscribed = connect(ada).subscribe<{ cellOutputs: { id: string; value: string; output: Record<string, unknown> } }>(OUTPUTS, { id: notebookId });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const store = await JetStreamEventStore.create(await infra.connectNats(), { namespace: infra.namespace });
      const executedAt = new Date().toISOString();
      await store.append(
        { category: 'executions', id: notebookId },
        {
          events: [{ type: 'cell.executed', data: { cellId, notebookVersion: version, display: '0', value: 0, html: null, durationMs: 1.5, executedAt, status: 'OK', error: null } }],
          actorId: null,
        },
        'any',
      );
      await subscribed.until((s) => s.data.length === 1);

      expect(subscribed.data[0]?.cellOutputs).toEqual({
        id: cellId,
        value: 'x = 0',
        output: { status: 'OK', display: '0', value: 0, error: null, durationMs: 1.5, notebookVersion: version, executedAt },
      });
    });

    it('carries only subscriptions, under the limits HTTP operations meet', async () => {
      const client = connect(ada);
      const query = client.subscribe('{ me { id } }');
      const aliased = client.subscribe(`subscription { notebookEvents(notebookId: "${randomUUID()}") { ${range(0, 15).map((i) => `a${i}: version`).join(' ')} } }`);
      const invalid = client.subscribe('subscription { notebookEvents(notebookId: 1) { nothing } }');
      for (const subscribed of [query, aliased, invalid]) await subscribed.until((s) => s.ended);

      expect(query.errorCode).toBe('BAD_USER_INPUT');
      expect({ code: aliased.errorCode, message: (aliased.error as { message: string }[])[0]?.message }).toEqual({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/Aliases limit/) });
      expect(invalid.errorCode).toBe('BAD_USER_INPUT');
      const overHttp = await api.run(ada, `subscription { notebookEvents(notebookId: "${randomUUID()}") { version } }`);
      expect(errorCode(overHttp)).toBe('BAD_USER_INPUT');
    });

    it('counts open subscriptions and slow-consumer disconnects in its metrics', async () => {
      const { notebookId } = await notebookWithCell('PUBLIC');
      const subscribed = connect(bob).subscribe<{ notebookEvents: EventView }>(EVENTS, { id: notebookId, after: 0 });
      await subscribed.until((s) => s.data.length === 2);
      const metrics = await request(gateway).get('/metrics');

      expect(metrics.text).toMatch(/realtime_subscriptions\{transport="graphql-ws",stream="notebookEvents"\} [1-9]/);
      expect(metrics.text).toMatch(/realtime_websocket_connections [1-9]/);
      expect(metrics.text).toMatch(/realtime_slow_consumer_disconnects_total/);
    });

    it('disconnects a consumer that falls too far behind, saying why', async () => {
      const { notebookId, cellId } = await notebookWithCell();
      const socket = new WebSocket(`${gateway.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
      await new Promise((resolve) => socket.once('open', resolve));
      const acked = new Promise((resolve) => socket.once('message', resolve));
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: ada.token } }));
      await acked;
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription($id: ID!) { notebookEvents(notebookId: $id) { version data } }', variables: { id: notebookId } } }));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
      // The client stops reading: the socket's buffers fill, then the subscriber's queue.
      (socket as unknown as { _socket: { pause(): void } })._socket.pause();
      const big = 'x = "'.concat('y'.repeat(200_000), '"');
      let outcome: { code: number; reason: string } | undefined;
      void closed.then((value) => (outcome = value));
      let disconnected = false;
      for (let i = 0; i < 300 && !outcome && !disconnected; i++) {
        await updateCell(ada, notebookId, cellId, `${big}${i}`);
        disconnected = /realtime_slow_consumer_disconnects_total\{transport="graphql-ws"\} [1-9]/.test((await request(gateway).get('/metrics')).text);
      }
      (socket as unknown as { _socket: { resume(): void } })._socket.resume();

      expect(disconnected).toBe(true);
      expect(await closed).toEqual({ code: 4008, reason: 'slow consumer: more than 50 events waiting' });
    });
  });

  describe('Server-Sent Events', () => {
    interface EventBody {
      notebookId: string;
      version: number;
      type: string;
      occurredAt: string;
      actor: { id: string; email: string; displayName: string } | null;
      data: Record<string, unknown>;
    }
    const stream = (notebookId: string, as: TestUser | null, query = '', headers: Record<string, string> = {}) =>
      track(SseClient.open(`${gateway}/api/notebooks/${notebookId}/events/stream${query}`, { ...(as?.headers ?? {}), ...headers }));
    const everything = (as: TestUser | null, headers: Record<string, string> = {}) => track(SseClient.open(`${gateway}/api/events/stream`, { ...(as?.headers ?? {}), ...headers }));
    const track = async (opening: Promise<SseClient>) => {
      const sse = await opening;
      streams.push(sse);
      return sse;
    };
    const streams: SseClient[] = [];
    const streamed = (sse: SseClient) => sse.messages<EventBody>().map((event) => event.version);

    afterAll(() => streams.forEach((sse) => sse.close()));

    it("streams a notebook's events after afterVersion, then live ones, each as REST's history answers it, with its version as id", async () => {
      const { notebookId, cellId } = await notebookWithCell();
      for (let i = 1; i <= 3; i++) await updateCell(ada, notebookId, cellId, `x = ${i}`);
      const sse = await stream(notebookId, ada, '?afterVersion=2');
      await sse.until((s) => streamed(s).length === 3);
      const last = await updateCell(ada, notebookId, cellId, 'x = 4');
      await sse.until((s) => streamed(s).includes(last));

      expect(sse.status).toBe(200);
      expect(streamed(sse)).toEqual(range(3, last));
      expect(sse.events.filter((event) => event.event === 'message').map((event) => event.id)).toEqual(range(3, last).map(String));
      await api.notebook(ada, notebookId, last);
      const history = await request(gateway).get(`/api/notebooks/${notebookId}/events`).set(ada.headers).query({ afterVersion: 2 });
      expect(sse.messages()).toEqual(history.body.events);
    });

    it('resumes after a disconnect from Last-Event-ID without a gap', async () => {
      const { notebookId, cellId } = await notebookWithCell();
      const first = await stream(notebookId, ada, '?afterVersion=0');
      await first.until((s) => streamed(s).length === 2);
      first.close();
      const lastId = first.events.at(-1)?.id ?? '';
      for (let i = 1; i <= 3; i++) await updateCell(ada, notebookId, cellId, `x = ${i}`);
      const again = await stream(notebookId, ada, '?afterVersion=0', { 'last-event-id': lastId });
      const last = await updateCell(ada, notebookId, cellId, 'x = 4');
      await again.until((s) => streamed(s).includes(last));

      expect([...streamed(first), ...streamed(again)]).toEqual(range(1, last));
    });

    it('is 404 NOT_FOUND for a notebook the caller may not see; anyone streams a public one', async () => {
      const { notebookId: hidden } = await notebookWithCell('PRIVATE');
      const { notebookId: open } = await notebookWithCell('PUBLIC');
      for (const sse of [await stream(hidden, bob), await stream(hidden, null), await stream(randomUUID(), bob)]) {
        expect({ status: sse.status, code: (sse.body as { error: { code: string } }).error.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
      }
      const anonymous = await stream(open, null, '?afterVersion=0');
      await anonymous.until((s) => streamed(s).length === 2);
      expect(anonymous.messages<EventBody>()[0]?.actor).toEqual({ id: ada.id, email: '', displayName: 'Ada', createdAt: expect.any(String) });
      const bad = await stream(open, null, '', { 'last-event-id': 'yesterday' });
      expect(bad.status).toBe(400);
      const notAnId = await stream('not-a-uuid', bob);
      expect({ status: notAnId.status, code: (notAnId.body as { error: { code: string } }).error.code }).toEqual({ status: 400, code: 'BAD_USER_INPUT' }); // as the JSON routes answer
    });

    it('ends with NOT_FOUND within a second when the caller loses access', async () => {
      const { notebookId } = await notebookWithCell();
      await api.share(ada, notebookId, bob.email, 'VIEWER');
      const sse = await stream(notebookId, bob);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await api.run(ada, 'mutation($id: ID!, $user: ID!) { unshareNotebook(id: $id, userId: $user) { version } }', { id: notebookId, user: bob.id });
      await sse.until((s) => s.ended, 1_000);

      expect(sse.end).toEqual({ code: 'NOT_FOUND', message: 'notebook not found' });
      expect(streamed(sse)).toEqual([]);
    });

    it('ends when the access token expires', async () => {
      const { notebookId } = await notebookWithCell('PUBLIC');
      const sse = await stream(notebookId, null, '', { authorization: `Bearer ${await shortLivedToken(infra, bob.id, 2)}` });
      await sse.until((s) => s.ended, 5_000);

      expect(sse.end).toEqual({ code: 'UNAUTHENTICATED', message: 'the access token expired' });
    });

    it('streams the events of every notebook the caller may see, and resumes from Last-Event-ID', async () => {
      const sse = await everything(bob);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const { notebookId: hidden, cellId: hiddenCell } = await notebookWithCell('PRIVATE');
      const { notebookId: open, cellId: openCell } = await notebookWithCell('PUBLIC');
      const shared = await api.share(ada, hidden, bob.email, 'EDITOR');
      const seen = (s: SseClient) => s.messages<EventBody>().filter((event) => event.notebookId === open || event.notebookId === hidden).map((event) => `${event.notebookId === open ? 'open' : 'hidden'}@${event.version}`);
      await sse.until((s) => seen(s).includes(`hidden@${shared.version}`));
      sse.close();
      const lastId = sse.events.at(-1)?.id ?? '';
      const missed = await updateCell(ada, open, openCell, 'x = 1');
      const again = await everything(bob, { 'last-event-id': lastId });
      const live = await updateCell(ada, hidden, hiddenCell, 'x = 2');
      await again.until((s) => seen(s).includes(`hidden@${live}`));

      expect(seen(sse)).toEqual(['open@1', 'open@2', `hidden@${shared.version}`]);
      expect(seen(again)).toEqual([`open@${missed}`, `hidden@${live}`]);
      expect(sse.events.every((event) => /^\d+:\d+$/.test(event.id ?? ''))).toBe(true);
      const anonymous = await everything(null, { 'last-event-id': lastId });
      await anonymous.until((s) => seen(s).length > 0);
      expect(seen(anonymous)).toEqual([`open@${missed}`]);
    });
  });
});

/**
 * An access token for `userId` that expires in `seconds`, signed with auth-service's current key
 * (kept in its schema when none is configured) as auth-service signs them.
 */
async function shortLivedToken(infra: TestInfra, userId: string, seconds: number): Promise<string> {
  const db = infra.database<{ 'auth.signing_keys': { kid: string; private_key_pem: string; created_at: Date } }>();
  const key = await db.selectFrom('auth.signing_keys').select(['kid', 'private_key_pem']).orderBy('created_at', 'desc').limit(1).executeTakeFirstOrThrow();
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'at+jwt' })
    .setSubject(userId)
    .setIssuer('notebooks-auth')
    .setAudience('notebooks-api')
    .setIssuedAt(now)
    .setExpirationTime(now + seconds)
    .setJti(randomUUID())
    .sign(await importPKCS8(key.private_key_pem, 'EdDSA'));
}
