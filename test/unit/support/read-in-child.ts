/**
 * Reads a workbook in a child process of its own (support/workbook-reader-child.ts) and says how
 * the read ended, how long it took and how much its peak resident memory grew: a figure of the
 * reader alone, not of the Jest process that ran every test before. One child serves the reads
 * of a test file, one at a time (a process per read would cost a second each).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ReadAnswer, ReadRequest } from './workbook-reader-child';

let child: ChildProcess | undefined;

export async function readInChild(request: ReadRequest): Promise<ReadAnswer> {
  if (child === undefined || !child.connected) {
    child = fork(join(__dirname, 'workbook-reader-child.ts'), [], { execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }
  const reader = child;
  return await new Promise((resolve, reject) => {
    const exited = (code: number | null) => reject(new Error(`the reader's child process exited (${code}) before it answered`));
    reader.once('exit', exited);
    reader.once('message', (answer: ReadAnswer) => {
      reader.off('exit', exited);
      resolve(answer);
    });
    reader.send(request);
  });
}

/** Ends the child (afterAll). */
export function stopReaderChild(): void {
  child?.kill();
  child = undefined;
}
