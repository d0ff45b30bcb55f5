/**
 * The one error type of the training pipeline. Its message is the single line the CLI prints, so it
 * names the input and what is wrong with it; anything else that escapes is a bug and keeps its stack.
 */
export class TrainingError extends Error {
  override readonly name = 'TrainingError';
}
