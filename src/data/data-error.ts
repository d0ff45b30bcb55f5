/**
 * A problem with the data a command was given (a missing file, not parquet, missing columns, an
 * unreachable URL). Its message is the single `error: …` line the command prints, so it names the
 * input and what is wrong with it.
 */
export class DataError extends Error {
  override readonly name = 'DataError';
}
