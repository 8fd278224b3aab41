export default async function globalTeardown(): Promise<void> {
  const infra = globalThis.__NOTEBOOKS_TEST_INFRA__;
  if (!infra) return;
  globalThis.__NOTEBOOKS_TEST_INFRA__ = undefined;
  for (const stop of infra.stops) await stop();
}
