/**
 * Progress in bytes of the file, counted as the reader takes compressed bytes in (the zip's
 * inflate reads only as far ahead as the parser asks, so the count follows the rows), reported
 * about every 64 KiB and once at the end, when the whole file counts as read.
 */
export type BytesReadListener = (bytesRead: number, totalBytes: number) => void;

const REPORT_EVERY_BYTES = 64 * 1024;

export class ByteProgress {
  private bytesRead = 0;
  private reportedAt = 0;

  constructor(
    private readonly totalBytes: number,
    private readonly listener: BytesReadListener | undefined,
  ) {}

  /** Counts compressed bytes taken from the file; never past the total (a part may be read twice). */
  readonly add = (count: number): void => {
    this.bytesRead = Math.min(this.bytesRead + count, this.totalBytes - 1);
    if (this.listener && this.bytesRead - this.reportedAt >= REPORT_EVERY_BYTES) {
      this.reportedAt = this.bytesRead;
      this.listener(this.bytesRead, this.totalBytes);
    }
  };

  /** Everything that will be read has been: the rest (zip directory, parts not needed) counts too. */
  finish(): void {
    if (this.reportedAt === this.totalBytes) return;
    this.bytesRead = this.reportedAt = this.totalBytes;
    this.listener?.(this.totalBytes, this.totalBytes);
  }
}
