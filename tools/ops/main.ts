import { run } from './cli';

/** `npm run ops -- <command>`: see cli.ts, or `npm run ops -- --help`. */
const interrupt = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupt.signal.aborted) process.exit(130); // a second Ctrl-C does not wait
    interrupt.abort();
  });
}

void run(process.argv.slice(2), { signal: interrupt.signal }).then((code) => process.exit(code));
