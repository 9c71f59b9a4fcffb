/**
 * An .xlsx is a zip. Before any XLSX parser inflates it, read its central directory (entry
 * count, declared sizes, compression ratios) and then inflate each entry through yauzl, which
 * stops an entry the moment it yields more than it declared: a zip bomb dressed as a
 * workbook is refused having inflated at most the cap, never the bomb.
 */
import yauzl from 'yauzl';
import { badRequest, HttpProblem } from '../api/problem';

export const ZIP_LIMITS = {
  entries: 1_000,
  /** Everything inflated together; a 10,000-row needs list is a few MB. */
  inflatedBytes: 64 * 1024 * 1024,
  /** Per entry above 1 MB: XML compresses well, but not a thousand to one. */
  ratio: 1_000,
};

const tooBig = (detail: string) => new HttpProblem(413, 'Payload too large', detail);
const notWorkbook = (why: string) => badRequest('the file is not an .xlsx workbook', [{ path: 'body', message: why }]);

export async function checkZip(buf: Buffer, limits = ZIP_LIMITS): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false }, (err, z) => (err ? reject(notWorkbook(err.message)) : resolve(z)));
  });
  if (zip.entryCount > limits.entries) throw tooBig(`the workbook has ${zip.entryCount} parts; at most ${limits.entries}`);
  let declared = 0;
  let inflated = 0;
  await new Promise<void>((resolve, reject) => {
    const fail = (err: unknown) => { zip.close(); reject(err); };
    zip.on('error', (err) => fail(err instanceof HttpProblem ? err : notWorkbook(String((err as Error).message))));
    zip.on('end', resolve);
    zip.on('entry', (entry: yauzl.Entry) => {
      declared += entry.uncompressedSize;
      if (declared > limits.inflatedBytes) return fail(tooBig(`the workbook would inflate to more than ${limits.inflatedBytes / 1024 / 1024} MB`));
      if (entry.uncompressedSize > 1024 * 1024 && entry.uncompressedSize / Math.max(1, entry.compressedSize) > limits.ratio) {
        return fail(tooBig(`part ${entry.fileName} is compressed more than ${limits.ratio}:1; refused as a zip bomb`));
      }
      if (/\/$/.test(entry.fileName)) return zip.readEntry();
      zip.openReadStream(entry, (err, stream) => {
        if (err) return fail(notWorkbook(err.message));
        stream.on('data', (chunk: Buffer) => {
          inflated += chunk.length;
          if (inflated > limits.inflatedBytes) {
            stream.destroy();
            fail(tooBig(`the workbook inflates to more than ${limits.inflatedBytes / 1024 / 1024} MB`));
          }
        });
        stream.on('error', (e) => fail(notWorkbook(e.message)));
        stream.on('end', () => zip.readEntry());
      });
    });
    zip.readEntry();
  });
}
