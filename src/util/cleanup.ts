/**
 * Cleanup that must run however the process ends: normal exit, an error, Ctrl-C (SIGINT) or SIGTERM.
 * Handlers run once, newest first.
 */
type Handler = () => void | Promise<void>;
const handlers = new Set<Handler>();
let installed = false;

async function runAll(): Promise<void> {
  const list = [...handlers].reverse();
  handlers.clear();
  for (const h of list) {
    try {
      await h();
    } catch {
      /* best effort */
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(sig, () => {
      // on a terminal the progress line (util/progress.ts) is cleared first, so the message starts a line
      process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}imgscope: interrupted (${sig}), cleaning up\n`);
      void runAll().finally(() => process.exit(code));
    });
  }
}

/** Registers a cleanup; returns a function that unregisters it (call it once the resource is gone). */
export function onCleanup(h: Handler): () => void {
  install();
  handlers.add(h);
  return () => handlers.delete(h);
}

export async function runCleanups(): Promise<void> {
  await runAll();
}
