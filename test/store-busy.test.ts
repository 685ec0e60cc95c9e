/**
 * Another connection holding the store's write lock while a run is saving: SQLite's lock wait is
 * synchronous, so it must not be the whole wait — it would freeze the run's event loop, and with it
 * every in-flight call and even the timer that lets the other connection go. Here the lock holder
 * lives in the same process and releases on a timer: only an asynchronous wait lets that timer run.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import { StoreError } from '../src/core/errors.js';
import { retryWhileBusy } from '../src/engine/store-retry.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject } from './support/project.js';

let server: MockLlmServer;
beforeAll(async () => {
  server = await startMockLlmServer({ responder: arithmeticResponder() });
});
afterAll(() => server.close());

describe('a store locked by another connection during a run', () => {
  it('the run waits for the lock without freezing, saves every call and completes', async () => {
    const p = createProject(server, { cases: 20 });
    let holder: Database.Database | undefined;
    let released = false;
    let releaseLateMs = 0;
    const answer = arithmeticResponder();
    // When the first request reaches the API (a call is in flight), another connection takes the write
    // lock, and gives it back from a timer 300 ms later — a timer only a free event loop can run.
    server.script((req) => {
      if (!holder) {
        holder = new Database(p.dbFile);
        holder.prepare('BEGIN IMMEDIATE').run();
        const due = performance.now() + 300;
        setTimeout(() => {
          releaseLateMs = performance.now() - due;
          holder!.prepare('COMMIT').run();
          holder!.close();
          released = true;
        }, 300);
      }
      return answer(req);
    });
    const result = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env });
    server.script(answer);
    expect(released).toBe(true);
    // The save's synchronous wait is short (25 ms), so the release timer ran about on time. Were it the
    // store's normal 5 s wait, the event loop would have been frozen past it for seconds (the bound is
    // far from both, so a loaded machine cannot fail it).
    expect(releaseLateMs).toBeLessThan(2_500);
    expect(result.summary.status).toBe('complete');
    expect(result.summary.errors).toBeUndefined();
    const db = new Database(result.dbFile, { readonly: true });
    const saved = db.prepare('select count(*) from responses where run_id = ?').pluck().get(result.runId);
    db.close();
    expect(saved).toBe(30);
  });

  it('gives up with the locked StoreError once the total wait is spent', async () => {
    let tries = 0;
    const busy = new StoreError('x.db', 'is locked by another process', undefined, { busy: true });
    await expect(
      retryWhileBusy(
        () => {
          tries++;
          throw busy;
        },
        { firstDelayMs: 1, maxDelayMs: 4, totalMs: 20 },
      ),
    ).rejects.toBe(busy);
    expect(tries).toBeGreaterThan(2);
  });
});
