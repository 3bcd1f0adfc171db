/**
 * Small helpers over Durable Object SQLite. Every write goes through a
 * `WriteMeter` so a caller can report the rows it was billed for
 * (`cursor.rowsWritten`: one per table row and one per index entry touched).
 */

/** The platform binds at most 100 parameters per statement. */
export const MAX_BOUND_PARAMETERS = 100;

export type SqlValue = string | number | null;

/** Splits `items` into chunks whose rows of `width` parameters fit one statement. */
export function chunksForParameters<T>(items: readonly T[], width: number): T[][] {
  const size = Math.max(1, Math.floor((MAX_BOUND_PARAMETERS - 1) / width));
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** `(?,?,?),(?,?,?)` for `rows` rows of `width` parameters. */
export const placeholders = (rows: number, width: number): string =>
  Array.from({ length: rows }, () => `(${Array.from({ length: width }, () => "?").join(",")})`).join(",");

export class WriteMeter {
  rowsWritten = 0;
  constructor(readonly sql: SqlStorage) {}

  /** Runs a write statement to completion and counts the rows it wrote. */
  run(query: string, ...bindings: SqlValue[]): void {
    const cursor = this.sql.exec(query, ...bindings);
    for (const _ of cursor); // drain: rowsWritten is final only once the statement has run
    this.rowsWritten += cursor.rowsWritten;
  }
}

/** `SELECT … WHERE key IN (…)` over any number of keys, chunked under the parameter limit. */
export function selectIn<Row extends Record<string, SqlStorageValue>>(
  sql: SqlStorage,
  query: (inList: string) => string,
  keys: readonly SqlValue[],
): Row[] {
  const rows: Row[] = [];
  for (const chunk of chunksForParameters(keys, 1)) {
    rows.push(...sql.exec<Row>(query(placeholders(1, chunk.length).slice(1, -1)), ...chunk));
  }
  return rows;
}
