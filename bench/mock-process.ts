/**
 * The benchmark's mock LLM server in a process of its own, as a real provider is: the client under
 * measurement shares neither its event loop nor its CPU accounting. The bench drives it over IPC.
 *
 *   fork('mock-process.js') → { ready, openaiBaseURL, anthropicBaseURL }
 *   { id, op: 'latency', ms, jitterMs? } | { id, op: 'faults', faults } | { id, op: 'reset' } | { id, op: 'served' } | { id, op: 'log' } | { id, op: 'close' }
 *   → { id, served?, statuses?, log? }
 */
import { startMockLlmServer, type FaultKind, type MockFaults, type MockRequest } from '../test/support/mock-llm-server.js';
import { jitterOf } from './ideal-schedule.js';
import { rightAnswer } from './project.js';

export type MockCommand =
  | { id: number; op: 'latency'; ms: number; jitterMs?: number }
  | { id: number; op: 'faults'; faults: MockFaults }
  | { id: number; op: 'reset' }
  | { id: number; op: 'served' }
  | { id: number; op: 'log' }
  | { id: number; op: 'close' };

export interface MockAnswer {
  id: number;
  /** Requests logged since the last reset, and how many got each HTTP status. */
  served?: number;
  statuses?: Record<string, number>;
  /** Every request since the last reset, in arrival order: its body as JSON text and its injected fault. */
  log?: ServedRequest[];
}

export interface ServedRequest {
  body: string;
  fault?: FaultKind;
}

const send = process.send?.bind(process);
if (!send) throw new Error('mock-process.js is started by the benchmark with fork(), not directly');

let jitterMs = 0;
// The log's bodies are JSON.stringify of the parsed body (see 'log'), so the jitter is computed on the same text.
const respond = (req: MockRequest) => (jitterMs > 0 ? { text: rightAnswer(req), delayMs: jitterOf(JSON.stringify(req.body), jitterMs) } : rightAnswer(req));
const mock = await startMockLlmServer({ responder: respond });
process.on('message', (cmd: MockCommand) => {
  const answer: MockAnswer = { id: cmd.id };
  switch (cmd.op) {
    case 'latency':
      mock.setLatency(cmd.ms);
      jitterMs = cmd.jitterMs ?? 0;
      break;
    case 'faults':
      mock.setFaults(cmd.faults);
      break;
    case 'reset':
      mock.reset();
      break;
    case 'served': {
      answer.served = mock.requests.length;
      const statuses: Record<string, number> = {};
      for (const r of mock.requests) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      answer.statuses = statuses;
      break;
    }
    case 'log':
      // JSON.stringify of the parsed body gives back the bytes the SDKs sent (they send JSON.stringify
      // output); the bench checks that by recomputing each logged fault from it.
      answer.log = mock.requests.map((r) => (r.fault ? { body: JSON.stringify(r.body), fault: r.fault } : { body: JSON.stringify(r.body) }));
      break;
    case 'close':
      void mock.close().then(() => {
        send(answer);
        process.disconnect();
      });
      return;
  }
  send(answer);
});
send({ ready: true, openaiBaseURL: mock.openaiBaseURL, anthropicBaseURL: mock.anthropicBaseURL });
