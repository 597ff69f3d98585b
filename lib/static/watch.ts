/**
 * watch.ts — `Deno.watchFs` over the document root, turned into
 * invalidations for the representation store (and, later, live-reload
 * events for whoever subscribes).
 *
 * A watcher is a help, never the guarantee: its events reach JavaScript
 * some time after the write (on another thread, then through the event
 * loop), so the store's per-wave `stat` is what keeps answers fresh. The
 * watcher frees memory at once, tells the store of new precompressed
 * siblings, and is the signal a browser's live reload waits for. Where it
 * cannot run (no inotify, too many directories for the kernel's watch
 * limit, a network file system that reports nothing) the store simply
 * never hears from it.
 */

/** WatchListener gets the absolute paths that changed, or `"all"` when events were lost (rescan). */
export type WatchListener = (paths: readonly string[] | "all") => void;

/** RootWatcher watches a directory tree and tells its listeners what changed. */
export class RootWatcher {
  #watcher: Deno.FsWatcher | undefined;
  #listeners = new Set<WatchListener>();
  #running: Promise<void> | undefined;
  /** Why the watcher is not running, when it is not. */
  readonly failure: string | undefined;

  /** Starts watching `root` recursively; never throws (see {@linkcode failure}). */
  constructor(root: string) {
    try {
      this.#watcher = Deno.watchFs(root, { recursive: true });
      this.failure = undefined;
    } catch (err) {
      this.failure = err instanceof Error ? err.message : String(err);
      return;
    }
    this.#running = this.#run(this.#watcher);
  }

  /** Whether events are being received. */
  get active(): boolean {
    return this.#watcher !== undefined;
  }

  /** subscribe adds `listener`; the function it returns removes it. */
  subscribe(listener: WatchListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** close stops watching and resolves once the watcher's loop has ended. */
  async close(): Promise<void> {
    try {
      this.#watcher?.close();
    } catch {
      // Closed already.
    }
    await this.#running;
  }

  async #run(watcher: Deno.FsWatcher) {
    try {
      for await (const event of watcher) {
        // "rescan": the kernel's queue overflowed and events were lost.
        const lost = event.kind === "other" && event.flag === "rescan";
        this.#emit(lost ? "all" : event.paths);
      }
    } catch {
      // The watcher failed (its root was removed, say): stop hearing from it.
    }
    this.#watcher = undefined;
  }

  #emit(paths: readonly string[] | "all") {
    for (const listener of this.#listeners) {
      try {
        listener(paths);
      } catch {
        // A listener's failure is its own; the others still hear.
      }
    }
  }
}

/** watchStore keeps `store` told of changes under the watcher's root; returns the unsubscribe. */
export function watchStore(
  watcher: RootWatcher,
  store: { invalidate(path: string): void; clear(): void },
): () => void {
  return watcher.subscribe((paths) => {
    if (paths === "all") store.clear();
    else for (const path of paths) store.invalidate(path);
  });
}
