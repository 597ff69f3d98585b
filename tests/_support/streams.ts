/**
 * streams.ts — scripted request bodies for handler tests: streams that
 * record whether they were read or cancelled, fail midway, or never end.
 */

/** ScriptedStream is a body stream plus what happened to it. */
export interface ScriptedStream {
  stream: ReadableStream<Uint8Array>;
  /** How many chunks the consumer pulled. */
  readonly pulls: number;
  /** Whether the consumer cancelled the stream. */
  readonly cancelled: boolean;
}

/** ScriptedStreamOptions script a {@linkcode scriptedStream}. */
export interface ScriptedStreamOptions {
  /** Error the stream with this once the chunks are used up, instead of ending. */
  error?: Error;
  /** Never end: after the chunks, repeat the last one forever. */
  endless?: boolean;
  /** Called before each chunk is handed out, with its index (to look at the disk mid-stream). */
  beforeChunk?: (index: number) => void | Promise<void>;
}

/**
 * scriptedStream hands out `chunks` one per pull (high-water mark 0, so
 * nothing is pulled until the consumer reads), then ends, errors or repeats
 * as `options` say. Strings are UTF-8 encoded.
 */
export function scriptedStream(
  chunks: readonly (Uint8Array | string)[],
  options: ScriptedStreamOptions = {},
): ScriptedStream {
  const encoded = chunks.map((c) => typeof c === "string" ? new TextEncoder().encode(c) : c);
  const state = { pulls: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const index = state.pulls++;
      await options.beforeChunk?.(index);
      const chunk = encoded[index] ?? (options.endless ? encoded.at(-1) : undefined);
      if (chunk !== undefined) {
        controller.enqueue(chunk.slice());
      } else if (options.error !== undefined) {
        controller.error(options.error);
      } else {
        controller.close();
      }
    },
    cancel() {
      state.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return {
    stream,
    get pulls() {
      return state.pulls;
    },
    get cancelled() {
      return state.cancelled;
    },
  };
}

/**
 * untouchableStream is a body that fails the test if anything reads it: for
 * checking that a limit is enforced from the headers alone.
 */
export function untouchableStream(): ScriptedStream {
  const state = { pulls: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull() {
      state.pulls++;
      throw new Error("The body was read, but it should have been refused unread");
    },
    cancel() {
      state.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return {
    stream,
    get pulls() {
      return state.pulls;
    },
    get cancelled() {
      return state.cancelled;
    },
  };
}

/** readLines yields the lines of a child's output stream as they arrive (without "\n"). */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    pending += text;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    yield* lines;
  }
  if (pending !== "") yield pending;
}
