// What every webview session repeats: run one job at a time in the analysis process (a new start supersedes the
// running one), hand its result on only while it is still the latest, turn a cancel and a failure into one
// message each; and route the webview's messages to handlers by type.
import * as vscode from 'vscode';
import { CancelledError, errorMessage, InputError } from '../../errors';
import { log } from './log';

export interface JobOutcome<T> {
  result(value: T): void;
  cancelled(): void;
  /** Input errors are the user's to fix; any other error is also logged with `logAs`. */
  failed(message: string): void;
}

export class LatestJob {
  private controller: AbortController | undefined;

  constructor(private readonly logAs: string) {}

  get running(): boolean {
    return this.controller !== undefined;
  }

  cancel(): void {
    this.controller?.abort();
  }

  async run<T>(work: (signal: AbortSignal) => Promise<T>, outcome: JobOutcome<T>): Promise<void> {
    this.controller?.abort();
    const current = new AbortController();
    this.controller = current;
    try {
      const value = await work(current.signal);
      if (this.controller === current) outcome.result(value);
    } catch (error) {
      if (this.controller !== current) return;
      if (error instanceof CancelledError) outcome.cancelled();
      else {
        if (!(error instanceof InputError)) log.error(`${this.logAs}: ${errorMessage(error)}`);
        outcome.failed(errorMessage(error));
      }
    } finally {
      if (this.controller === current) this.controller = undefined;
    }
  }
}

/** Handlers for one panel's messages (its protocol in src/protocol/panels/), by type. */
export type MessageHandlers<In extends { type: string }> = { [K in In['type']]?: (message: Extract<In, { type: K }>) => void };

/** Messages a view does not offer have no handler and are ignored: a webview cannot make a session do more. */
export function onWebviewMessage<In extends { type: string }>(webview: vscode.Webview, handlers: MessageHandlers<In>): vscode.Disposable {
  return webview.onDidReceiveMessage((message: In) => {
    const type = typeof message === 'object' && message !== null ? message.type : undefined;
    if (typeof type !== 'string' || !Object.hasOwn(handlers, type)) return;
    (handlers[type as In['type']] as (m: In) => void)(message);
  });
}
