/**
 * The other end of the control server, for `vmss-mesh sandbox …`: read the state, send an
 * action. "Nothing answers" (refused, timed out, something that is not a sandbox) is one error,
 * `SandboxUnreachableError`, so the CLI can say plainly that no sandbox runs.
 */
import { errorMessage, VmssMeshError } from '../../shared/errors';
import type { SandboxAction, SandboxState } from '../sandbox-state';
import { parseSandboxState } from './state-schema';

export const START_HINT = 'start one with npm start';

/** No sandbox answered at the URL (or none was found at all). Retrying helps once one runs. */
export class SandboxUnreachableError extends VmssMeshError {
  readonly retryable = true;
  constructor(
    readonly url: string | undefined,
    readonly reason?: string,
    options?: { cause?: unknown },
  ) {
    super(`no running sandbox found${url ? ` at ${url}` : ''}${reason ? `: ${reason}` : ''} (${START_HINT})`, options);
  }
}

export interface ActionReply {
  /** HTTP status: 200 done, 400 invalid, 422 refused (unknown scale set, …), 5xx failed. */
  readonly status: number;
  readonly ok: boolean;
  readonly message: string;
}

async function call(baseUrl: string, path: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(`${baseUrl}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    // fetch wraps the socket error ("fetch failed"); its cause says what happened (ECONNREFUSED, …).
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : errorMessage(error);
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : detail;
    throw new SandboxUnreachableError(baseUrl, reason, { cause: error });
  }
}

async function jsonOf(response: Response, baseUrl: string, what: string): Promise<unknown> {
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('application/json')) throw new SandboxUnreachableError(baseUrl, `${what} answered HTTP ${response.status} ${type || 'without a content type'}, not a sandbox's JSON`);
  try {
    return await response.json();
  } catch (error) {
    throw new SandboxUnreachableError(baseUrl, `${what} answered malformed JSON`, { cause: error });
  }
}

/** `GET /api/state`, validated. */
export async function fetchSandboxState(baseUrl: string, options: { timeoutMs?: number } = {}): Promise<SandboxState> {
  const response = await call(baseUrl, '/api/state', { headers: { accept: 'application/json' } }, options.timeoutMs ?? 5000);
  const body = await jsonOf(response, baseUrl, 'GET /api/state');
  if (!response.ok) {
    const message = typeof (body as { message?: unknown }).message === 'string' ? (body as { message: string }).message : `HTTP ${response.status}`;
    throw new SandboxUnreachableError(baseUrl, `GET /api/state failed: ${message}`);
  }
  return parseSandboxState(body);
}

/** `POST /api/actions`; refusals come back as a reply (`ok: false`), not as an exception. */
export async function sendSandboxAction(baseUrl: string, action: SandboxAction, options: { timeoutMs?: number } = {}): Promise<ActionReply> {
  const response = await call(baseUrl, '/api/actions', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(action) }, options.timeoutMs ?? 30_000);
  const body = (await jsonOf(response, baseUrl, 'POST /api/actions')) as { ok?: unknown; message?: unknown };
  const message = typeof body.message === 'string' ? body.message : `HTTP ${response.status}`;
  return { status: response.status, ok: response.ok && body.ok === true, message };
}

/**
 * Follows `GET /api/events`: calls `onState` with every state the sandbox pushes (the first one
 * at once) until `signal` aborts (resolves) or the stream ends or breaks (`SandboxUnreachableError`).
 */
export async function followSandboxState(baseUrl: string, onState: (state: SandboxState) => void, signal: AbortSignal): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${baseUrl}/api/events`, { headers: { accept: 'text/event-stream' }, signal });
  } catch (error) {
    if (signal.aborted) return;
    const cause = (error as { cause?: { code?: unknown } }).cause;
    throw new SandboxUnreachableError(baseUrl, typeof cause?.code === 'string' ? cause.code : errorMessage(error), { cause: error });
  }
  if (!response.ok || !(response.headers.get('content-type') ?? '').startsWith('text/event-stream') || !response.body) {
    throw new SandboxUnreachableError(baseUrl, `GET /api/events answered HTTP ${response.status}, not an event stream`);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (event === 'state' && data.length > 0) onState(parseSandboxState(JSON.parse(data.join('\n'))));
      }
    }
  } catch (error) {
    if (signal.aborted) return;
    throw new SandboxUnreachableError(baseUrl, `the event stream broke: ${errorMessage(error)}`, { cause: error });
  }
  if (!signal.aborted) throw new SandboxUnreachableError(baseUrl, 'the sandbox closed its event stream');
}
