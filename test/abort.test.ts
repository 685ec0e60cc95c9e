import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { withCallSignal, withChildSignal } from '../src/core/abort.js';

describe('withChildSignal', () => {
  it('aborts the child with the reason of whichever parent aborts', async () => {
    const run = new AbortController();
    const deadline = new AbortController();
    const reason = new DOMException('deadline passed', 'TimeoutError');
    const seen = await withChildSignal([run.signal, deadline.signal], (signal) => {
      deadline.abort(reason);
      return Promise.resolve({ aborted: signal.aborted, reason: signal.reason as unknown });
    });
    expect(seen).toEqual({ aborted: true, reason });
  });

  it('hands an already aborted child when a parent fired before the work began', async () => {
    const run = new AbortController();
    run.abort(new Error('stopping'));
    const reason = await withChildSignal([run.signal], (signal) => Promise.resolve(signal.aborted ? (signal.reason as Error).message : 'live'));
    expect(reason).toBe('stopping');
  });

  it('leaves no listener on a long-lived parent once the work settles, resolved or rejected', async () => {
    const run = new AbortController();
    for (let i = 0; i < 20; i++) {
      await withChildSignal([run.signal], (signal) => {
        // An SDK adds its own listener to the child and never removes it: that must not matter.
        signal.addEventListener('abort', () => undefined);
        return Promise.resolve(i);
      });
      await withChildSignal([run.signal], () => Promise.reject(new Error('failed call'))).catch(() => undefined);
    }
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
  });

  it('lets many calls share one parent without a listener-leak warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const run = new AbortController();
      let release = () => undefined as void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const calls = Array.from({ length: 50 }, () => withChildSignal([run.signal], () => gate));
      expect(getEventListeners(run.signal, 'abort')).toHaveLength(50);
      release();
      await Promise.all(calls);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
      expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('withCallSignal', () => {
  it('gives an SDK call a child of a long-lived signal, so the listener the SDK leaves behind goes with it', async () => {
    const run = new AbortController();
    const seen = await withCallSignal(run.signal, (signal) => {
      signal.addEventListener('abort', () => undefined); // as the SDKs do, never removed
      return Promise.resolve(signal);
    });
    expect(seen).not.toBe(run.signal);
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
  });

  it('uses a signal made for one call as it is, and that signal aborts with its parent or by its own abort', async () => {
    const run = new AbortController();
    const inner = await withChildSignal(
      [run.signal],
      (attempt, abort) =>
        withCallSignal(attempt, (signal) => {
          expect(signal).toBe(attempt);
          abort(new Error('deadline'));
          return Promise.resolve((signal.reason as Error).message);
        }),
      { singleCall: true },
    );
    expect(inner).toBe('deadline');
    const second = await withChildSignal([run.signal], (attempt) => withCallSignal(attempt, (signal) => Promise.resolve(signal === attempt)));
    expect(second).toBe(false); // a child not made for one call is not trusted as one
    const stopped = await withChildSignal(
      [run.signal],
      (attempt) =>
        withCallSignal(attempt, (signal) => {
          run.abort(new Error('stop'));
          return Promise.resolve([signal.aborted, (signal.reason as Error).message]);
        }),
      { singleCall: true },
    );
    expect(stopped).toEqual([true, 'stop']);
  });
});
