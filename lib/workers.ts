/**
 * workers.ts — `--workers N`: N isolates serve one port (SO_REUSEPORT), each
 * with its own instance (lib/instance.ts). The main isolate starts N - 1
 * workers running this same module, and tells them when to stop; each
 * answers with the messages of {@linkcode FromWorker}.
 *
 * This module is its own worker script: a compiled binary carries it in
 * its module graph, and in a bundle `import.meta.url` is the bundle, whose
 * copy of this module starts the worker (and whose `main.ts` stays still,
 * see {@linkcode inWorker}).
 */

import { messageOf } from "./command_error.ts";
import type { Config } from "./config.ts";
import { type Instance, type InstanceOptions, startInstance } from "./instance.ts";

/** ToWorker is a message from the main isolate to a worker. */
export type ToWorker =
  | { kind: "start"; config: Config; options: InstanceOptions }
  | { kind: "shutdown" };

/** FromWorker is a worker's answer: listening, failed to start, or shut down. */
export type FromWorker =
  | { kind: "ready" }
  | { kind: "failed"; message: string }
  | { kind: "done" };

/** WorkerScope is what a worker needs of its global scope (a test passes its own). */
export interface WorkerScope {
  /** Set by runWorker to its handler of {@linkcode ToWorker} messages. */
  onmessage: unknown;
  /** Answers the main isolate. */
  postMessage(message: FromWorker): void;
  /** Ends the worker. */
  close(): void;
}

/** The name minserve gives its worker isolates, so a module can tell it runs in one. */
const WORKER_NAME = "minserve-worker";

declare const WorkerGlobalScope: { new (): unknown } | undefined;

/** inWorker tells whether this code runs in one of minserve's worker isolates. */
export function inWorker(): boolean {
  return typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope &&
    (self as { name?: string }).name === WORKER_NAME;
}

/**
 * runWorker makes `scope` a worker: on "start" it starts one more instance
 * (answering "ready", or "failed" with the error's message), on "shutdown"
 * it shuts the instance down, answers "done" and closes.
 */
export function runWorker(scope: WorkerScope): void {
  let instance: Instance | undefined;
  scope.onmessage = async (event: MessageEvent<ToWorker>) => {
    const message = event.data;
    if (message.kind === "start") {
      try {
        instance = await startInstance(message.config, message.options);
        scope.postMessage({ kind: "ready" });
      } catch (err) {
        scope.postMessage({ kind: "failed", message: messageOf(err) });
      }
    } else {
      await instance?.shutdown();
      scope.postMessage({ kind: "done" });
      scope.close();
    }
  };
}

/**
 * startWorkers starts `count` worker isolates, one after another, each
 * serving `config` with `options`. Resolves with them once all listen;
 * rejects with the first one's failure (its error message), after
 * terminating every isolate it started.
 */
export async function startWorkers(
  count: number,
  config: Config,
  options: InstanceOptions,
): Promise<Worker[]> {
  const workers: Worker[] = [];
  for (let i = 0; i < count; i++) {
    const worker = new Worker(import.meta.url, { type: "module", name: WORKER_NAME });
    const ready = new Promise<void>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        if (event.data.kind === "ready") resolve();
        if (event.data.kind === "failed") reject(new Error(event.data.message));
      };
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(event.message));
      };
    });
    worker.postMessage({ kind: "start", config, options } satisfies ToWorker);
    try {
      await ready;
    } catch (err) {
      // Nothing of a failed start may outlive it: this isolate, nor those started before.
      for (const started of [...workers, worker]) started.terminate();
      throw err;
    }
    workers.push(worker);
  }
  return workers;
}

/**
 * stopWorkers tells every worker to shut down and waits for each to answer
 * "done", at most `graceMs`; then it is terminated. Never rejects.
 */
export async function stopWorkers(workers: readonly Worker[], graceMs: number): Promise<void> {
  await Promise.all(workers.map((worker) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        worker.terminate();
        resolve();
      }, graceMs);
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        if (event.data.kind !== "done") return;
        clearTimeout(timer);
        worker.terminate();
        resolve();
      };
      worker.postMessage({ kind: "shutdown" } satisfies ToWorker);
    })
  ));
}

if (inWorker()) runWorker(self as unknown as WorkerScope);
