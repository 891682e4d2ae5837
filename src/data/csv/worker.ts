// A CSV parsing thread: counts the lines of its byte range, then parses it into the shared raw table.
// Two messages, one reply each; the thread is ended by the caller afterwards.
import { parentPort } from 'node:worker_threads';
import { ChunkParser, countFileRange, parseFileRange, type ChunkPlace, type ChunkSetup } from './parse.js';

export type WorkerRequest =
  | { readonly type: 'count'; readonly file: string; readonly start: number; readonly end: number }
  | {
      readonly type: 'parse';
      readonly file: string;
      readonly start: number;
      readonly end: number;
      readonly setup: ChunkSetup;
      readonly place: ChunkPlace;
      readonly raw: SharedArrayBuffer;
      readonly lines: SharedArrayBuffer;
      /** Float64 slots of bytes done, one per parser. */
      readonly progress: SharedArrayBuffer;
      readonly slot: number;
    };

parentPort?.on('message', (request: WorkerRequest) => {
  if (request.type === 'count') {
    parentPort!.postMessage(countFileRange(request.file, request.start, request.end));
    return;
  }
  const parser = new ChunkParser(request.setup, request.place, request.raw, request.lines);
  const progress = new Float64Array(request.progress);
  parseFileRange(parser, request.file, request.start, request.end, (bytes) => (progress[request.slot] = bytes));
  parentPort!.postMessage(parser.result());
});
