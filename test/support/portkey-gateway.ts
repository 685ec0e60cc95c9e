/**
 * The real Portkey gateway (@portkey-ai/gateway, a devDependency) as a child process on a free
 * 127.0.0.1 port. Tests that need it call `startPortkeyGateway()`; when it cannot start they skip
 * loudly with the reason (`gatewayUnavailable`), never silently.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface PortkeyGateway {
  /** OpenAI-compatible base URL, `http://127.0.0.1:PORT/v1`. */
  readonly baseURL: string;
  close(): Promise<void>;
}

function gatewayScript(): string {
  const pkg = createRequire(import.meta.url).resolve('@portkey-ai/gateway/package.json');
  return join(dirname(pkg), 'build/start-server.js');
}

/** A port free right now; the gateway takes only `--port=N`, not 0, so it is chosen here. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitUntilUp(url: string, child: ChildProcess, log: () => string, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with code ${child.exitCode}: ${log().slice(-500)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the gateway did not answer on ${url} within ${deadlineMs / 1000} s: ${log().slice(-500)}`);
}

/** Starts the gateway; retries once on another port if the first was taken in between. */
export async function startPortkeyGateway(): Promise<PortkeyGateway> {
  let script: string;
  try {
    script = gatewayScript();
  } catch {
    throw new Error('@portkey-ai/gateway is not installed (npm ci installs it as a devDependency)');
  }
  if (!existsSync(script)) throw new Error(`${script} is missing`);
  let lastError: unknown;
  for (let attempt = 0; attempt < 2; attempt++) {
    const port = await freePort();
    let output = '';
    const child = spawn(process.execPath, [script, `--port=${port}`, '--headless'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: 'production' },
    });
    child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    const close = () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      });
    try {
      await waitUntilUp(`http://127.0.0.1:${port}/`, child, () => output, 20_000);
      return { baseURL: `http://127.0.0.1:${port}/v1`, close };
    } catch (e) {
      lastError = e;
      await close();
    }
  }
  throw lastError;
}

/** Start the gateway or say loudly why the tests that need it are skipped. */
export async function startGatewayOrWarn(suite: string): Promise<PortkeyGateway | undefined> {
  try {
    return await startPortkeyGateway();
  } catch (e) {
    console.warn(`\n⚠ SKIPPING ${suite}: the Portkey gateway could not start: ${(e as Error).message}\n`);
    return undefined;
  }
}
