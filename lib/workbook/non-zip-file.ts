/**
 * Says what a file that is not a zip is, from its first bytes, so the error tells the person what
 * they uploaded: a password-protected workbook (Excel encrypts the whole zip into an OLE compound
 * file), an old .xls, a PDF or a CSV renamed .xlsx.
 */
/** Reads `length` bytes at `position` (fewer at the end of the file). */
export type ReadAt = (position: number, length: number) => Promise<Buffer>;

const ZIP_SIGNATURE = Buffer.from('PK\x03\x04', 'latin1');
const EMPTY_ZIP_SIGNATURE = Buffer.from('PK\x05\x06', 'latin1');
const OLE_SIGNATURE = Buffer.from('d0cf11e0a1b11ae1', 'hex');
/** The stream an encrypted OOXML package keeps its ciphertext in, as a UTF-16 directory name. */
const ENCRYPTED_PACKAGE = Buffer.from('EncryptedPackage', 'utf16le');
const PDF_SIGNATURE = Buffer.from('%PDF-', 'latin1');
/** Enough of an OLE file to hold its header and, in files Excel writes, the directory. */
const OLE_PROBE_BYTES = 64 * 1024;

/** Why the file is not an xlsx, or undefined if it starts like a zip and the zip reader must judge. */
export async function describeNonZipFile(readAt: ReadAt, size: number): Promise<string | undefined> {
  if (size === 0) return 'is empty, not an xlsx workbook';
  const head = await readAt(0, Math.min(size, OLE_PROBE_BYTES));
  if (startsWith(head, ZIP_SIGNATURE) || startsWith(head, EMPTY_ZIP_SIGNATURE)) return undefined;
  if (startsWith(head, OLE_SIGNATURE)) {
    return head.includes(ENCRYPTED_PACKAGE) || (await oleDirectoryNamesEncryptedPackage(readAt, head, size))
      ? 'is a password-protected workbook (an encrypted container, not a zip): save a copy without a password'
      : 'is an Excel 97-2003 (.xls) workbook, not an .xlsx: save it as .xlsx';
  }
  if (startsWith(head, PDF_SIGNATURE)) return 'is a PDF document, not an xlsx workbook';
  if (looksLikeText(head)) return 'is a text file (a CSV renamed .xlsx?), not an xlsx workbook';
  return 'is not an xlsx workbook (not a zip file)';
}

/** The directory of an OLE file starts at the sector its header names; Excel puts it near the end. */
async function oleDirectoryNamesEncryptedPackage(readAt: ReadAt, head: Buffer, size: number): Promise<boolean> {
  if (head.length < 0x34) return false;
  const sectorSize = 2 ** head.readUInt16LE(0x1e);
  const directoryStart = (head.readUInt32LE(0x30) + 1) * sectorSize;
  if (sectorSize > 4096 || directoryStart >= size) return false;
  return (await readAt(directoryStart, Math.min(OLE_PROBE_BYTES, size - directoryStart))).includes(ENCRYPTED_PACKAGE);
}

function startsWith(bytes: Buffer, signature: Buffer): boolean {
  return bytes.length >= signature.length && bytes.subarray(0, signature.length).equals(signature);
}

/** Printable ASCII, tabs, line breaks and UTF-8 sequences only, in the first bytes. */
function looksLikeText(bytes: Buffer): boolean {
  const sample = bytes.subarray(0, 4096);
  for (const byte of sample) {
    if (byte < 0x09 || (byte > 0x0d && byte < 0x20) || byte === 0x7f) return false;
  }
  return true;
}
