import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';

/**
 * Where a running `npm start` says how to reach it: `<DATA_DIR>/platform.json`, written once its
 * servers and ports are chosen and removed when it stops. The ops CLI reads it.
 */
export const PlatformFile = z.object({
  /** The `npm start` process: a file whose process is gone is stale. */
  pid: z.number().int(),
  startedAt: z.string(),
  natsUrl: z.string(),
  databaseUrl: z.string(),
  namespace: z.string(),
  graphqlUrl: z.string().optional(),
  /** Base URL of each service's HTTP listener (health, metrics). */
  services: z.record(z.string(), z.string()),
});
export type PlatformFile = z.infer<typeof PlatformFile>;

export function platformFilePath(dataDir: string): string {
  return join(dataDir, 'platform.json');
}

export function writePlatformFile(path: string, platform: PlatformFile): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(platform, null, 2)}\n`);
}

/** Removes the file if it still describes this process (another `npm start` may have replaced it). */
export function removePlatformFile(path: string, pid = process.pid): void {
  try {
    if (readPlatformFile(path)?.pid === pid) rmSync(path, { force: true });
  } catch {
    // unreadable: not ours to judge
  }
}

/** The file's contents, or undefined when there is none; throws when it is not one of ours. */
export function readPlatformFile(path: string): PlatformFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return PlatformFile.parse(JSON.parse(text));
}

/** Whether the process that wrote the file still runs. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
